import { type Principal, requireWrite } from '../catalog/index.js'
import { FxmError } from '../core/index.js'

/**
 * Who may do what in harmonize, in one place. Reading the quarantine and mappings: administrators
 * and analysts, API keys with read (or write, admin) scope, the system. Replays, mapping changes
 * and merges: administrators, API keys with write or admin scope, the system.
 */
export function requireHarmonizeRead(p: Principal): void {
  const allowed =
    p.kind === 'system' ||
    (p.kind === 'user' && (p.role === 'admin' || p.role === 'analyst')) ||
    (p.kind === 'apiKey' && p.scopes.some((s) => s === 'read' || s === 'write' || s === 'admin'))
  if (!allowed)
    throw new FxmError('forbidden', 'Only administrators and analysts may look into harmonization')
}

/** Throws `forbidden` unless the caller may replay records, change mappings or merge accounts. */
export function requireHarmonizeAdmin(p: Principal, what: string): void {
  requireWrite(p, what)
}
