import { execFileSync } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import Database from 'better-sqlite3'
import { adminQuery } from './scratch.js'

/** The machine and software a run measured on, so figures from different runs can be told apart. */
export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryMb: number
  platform: string
  node: string
  sqlite: string
  /** Server version, or why it is unknown (`unreachable: ...`). */
  postgres: string
  gitCommit: string
  /** Uncommitted changes in the working tree when the run started. */
  gitDirty: boolean
}

/** Collects the machine description; never throws, unknown parts say why. */
export async function describeMachine(root: string): Promise<MachineInfo> {
  const cpu = cpus()
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryMb: Math.round(totalmem() / 2 ** 20),
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    sqlite: sqliteVersion(),
    postgres: await postgresVersion(),
    gitCommit: git(root, ['rev-parse', 'HEAD']) || 'unknown',
    gitDirty: git(root, ['status', '--porcelain', '--untracked-files=no']) !== '',
  }
}

function sqliteVersion(): string {
  const db = new Database(':memory:')
  try {
    const row = db.prepare('select sqlite_version() as v').get() as { v: string }
    return row.v
  } finally {
    db.close()
  }
}

async function postgresVersion(): Promise<string> {
  try {
    const result = await adminQuery('show server_version')
    return String(result.rows[0]?.server_version ?? 'unknown')
  } catch (error) {
    return `unreachable: ${(error as Error).message}`
  }
}

function git(root: string, args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return ''
  }
}
