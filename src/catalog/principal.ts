/** Roles a person has inside one tenant. */
export const ROLES = ['admin', 'analyst', 'sales', 'purchasing'] as const
export type Role = (typeof ROLES)[number]

/** What an API key may do. */
export const SCOPES = ['ingest', 'read', 'write', 'admin', 'partner'] as const
export type Scope = (typeof SCOPES)[number]

/**
 * Who is acting: a person logged in with a session, a machine with an API key, or FXM itself
 * (CLI and background work). Every catalog service call takes one and authorises against it.
 */
export type Principal =
  | { kind: 'user'; tenantId: string; userId: string; role: Role; email: string }
  | {
      kind: 'apiKey'
      tenantId: string
      apiKeyId: string
      scopes: Scope[]
      sourceId: string | null
      /** The one account a `partner` key acts for (a B2B shop's portal); null for other keys. */
      accountId?: string | null
    }
  | { kind: 'system'; tenantId: string; name: string }

/** A system principal for FXM's own work in a tenant (CLI, workers, demo seeding). */
export function systemPrincipal(tenantId: string, name = 'fxm'): Principal {
  return { kind: 'system', tenantId, name }
}

/** Short label for logs and the audit log: `user:usr_...`, `apiKey:key_...`, `system:cli`. */
export function describePrincipal(p: Principal): { actorType: Principal['kind']; actorId: string } {
  switch (p.kind) {
    case 'user':
      return { actorType: 'user', actorId: p.userId }
    case 'apiKey':
      return { actorType: 'apiKey', actorId: p.apiKeyId }
    case 'system':
      return { actorType: 'system', actorId: p.name }
  }
}
