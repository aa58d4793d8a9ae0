import { readFileSync } from 'node:fs'

/** FXM's version, from package.json (found relative to this file in src/ and in dist/src/). */
export function fxmVersion(): string {
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'fxm' && pkg.version) return pkg.version
    } catch {
      // try the next location
    }
  }
  return '0.0.0'
}
