import { FxmError } from '../core/index.js'
import type { Principal, Role } from './principal.js'

/**
 * Who may do what in the catalog, in one place. Services call these before touching data; routes
 * never decide. Visibility of single accounts and contacts lives in `account-visibility.ts`.
 */

/** True for a tenant administrator: the system principal, an admin user, or an API key with `admin` scope. */
export function isAdmin(p: Principal): boolean {
  switch (p.kind) {
    case 'system':
      return true
    case 'user':
      return p.role === 'admin'
    case 'apiKey':
      return p.scopes.includes('admin')
  }
}

/**
 * Throws `forbidden` unless the caller may read catalog data at all. Every person of the tenant may;
 * an API key needs the `read` scope, or `write` or `admin`, which imply it (a key that maintains
 * master data must find what it changes).
 *
 * @example
 * requireRead(principal) // ingest-only key → FxmError forbidden
 */
export function requireRead(p: Principal): void {
  if (p.kind === 'apiKey' && !p.scopes.some((s) => s === 'read' || s === 'write' || s === 'admin')) {
    throw new FxmError('forbidden', 'This API key lacks the read scope')
  }
}

/**
 * True when the caller may change master data: the system principal, admins, API keys with
 * `write` (or `admin`) scope, and users whose role is in `alsoRoles`.
 *
 * @example
 * canWrite(principal, ['purchasing']) // products: purchasing may write them too
 */
export function canWrite(p: Principal, alsoRoles: readonly Role[] = []): boolean {
  switch (p.kind) {
    case 'system':
      return true
    case 'user':
      return p.role === 'admin' || alsoRoles.includes(p.role)
    case 'apiKey':
      return p.scopes.includes('write') || p.scopes.includes('admin')
  }
}

/** Throws `forbidden` naming what the caller may not change, unless `canWrite` allows it. */
export function requireWrite(p: Principal, what: string, alsoRoles: readonly Role[] = []): void {
  if (!canWrite(p, alsoRoles)) throw new FxmError('forbidden', `${callerLabel(p)} may not change ${what}`)
}

/** Throws `forbidden` unless the caller is a tenant administrator (see `isAdmin`). */
export function requireAdmin(p: Principal, what: string): void {
  if (!isAdmin(p)) throw new FxmError('forbidden', `Only administrators may manage ${what}`)
}

/** A label for messages: the role of a person, or what kind of caller it is. */
export function callerLabel(p: Principal): string {
  if (p.kind === 'user') return `Role ${p.role}`
  return p.kind === 'apiKey' ? 'This API key' : 'The system'
}
