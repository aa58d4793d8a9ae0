import { createHash } from 'node:crypto'
import type { Principal } from '../../catalog/index.js'
import { FxmError } from '../../core/index.js'
import { parseJson, toJson } from '../../store/index.js'
import type { CollectDeps, SourceTable } from '../schema.js'
import { readSourceSecrets } from '../sources.js'
import { parsePullConfig } from './pull-config.js'
import { type PullSummary, runPull, stopIfAborted, storePulledPage } from './pull-run.js'
import type { RestSourceConfig } from './rest-config.js'
import { basicCredentials, getJson, requestHeaders, type Sleep } from './rest-fetch.js'
import { type KeyedRecord, type RestCheckpoint, startPager, token, valueAt } from './rest-pagination.js'

/** What one pull of a rest source did. */
export type RestPullSummary = PullSummary<RestCheckpoint>

export interface RestPullOptions {
  /** Stops the run between requests (the worker stops, or lost the job's lease). */
  signal?: AbortSignal
  /** How to wait before a retry; tests pass one that returns at once. */
  sleep?: Sleep
}

/**
 * Pulls new records of a `rest` source (a JSON HTTP API, see `restSourceConfigSchema`) into the
 * raw log, page by page. Each page is stored with its new checkpoint in one transaction, so a
 * crash resumes after the last stored page; records read twice are absorbed by the raw log's key
 * (the record's `idPath`, else an md5 of the record). One run reads at most `maxPages` pages; the
 * next resumes. A failure marks the source `failing` with its error, in which no credential
 * appears, and rethrows; a successful pull marks it `active`. Administrators or the system.
 *
 * @example
 * const summary = await pullRestSource(deps, systemPrincipal(tenantId, 'pull'), 'crm') // { accepted: 40, ... }
 */
export async function pullRestSource(
  deps: CollectDeps,
  principal: Principal,
  sourceRef: string,
  options: RestPullOptions = {},
): Promise<RestPullSummary> {
  return runPull(deps, principal, sourceRef, 'rest', async (source) => {
    const secrets = readSourceSecrets(deps, source)
    try {
      return await pull(deps, source, secrets, options)
    } catch (error) {
      throw withoutSecrets(error, secrets)
    }
  })
}

async function pull(
  deps: CollectDeps,
  source: SourceTable,
  secrets: Record<string, string>,
  options: RestPullOptions,
): Promise<RestPullSummary> {
  const config = parsePullConfig('rest', source.name, parseJson(source.config))
  const headers = requestHeaders(config.headers, secrets)
  const request = { timeoutMs: config.timeoutMs, retries: config.retries, clock: deps.clock, ...options }
  let expected = source.checkpoint
  const pager = startPager(config.pagination, config.pageSize, parseJson(expected))
  const summary: RestPullSummary = {
    sourceId: source.id,
    pages: 0,
    read: 0,
    accepted: 0,
    duplicates: 0,
    checkpoint: pager.checkpoint,
  }
  while (summary.pages < config.maxPages) {
    stopIfAborted(options.signal)
    const url = new URL(config.url)
    for (const [name, value] of Object.entries(pager.params())) url.searchParams.set(name, value)
    const reply = await getJson(url, headers, request)
    const records = recordsOf(reply, config, url)
    const { fresh, done } = pager.take(records, reply)
    const next = pager.checkpoint === null ? null : toJson(pager.checkpoint)
    let stored = 0
    if (fresh.length > 0 || next !== expected) {
      const page = fresh.map((r) => ({ externalId: r.key, payload: JSON.stringify(r.record) }))
      stored = await storePulledPage(deps, source, page, expected, next)
      expected = next
    }
    summary.checkpoint = pager.checkpoint
    summary.pages++
    summary.read += records.length
    summary.accepted += stored
    summary.duplicates += records.length - stored
    if (done) break
  }
  return summary
}

/** The records of a reply, at `recordsPath`, each keyed by its `idPath` or a hash of it. */
function recordsOf(reply: unknown, config: RestSourceConfig, url: URL): KeyedRecord[] {
  const path = config.recordsPath
  const list = valueAt(reply, path)
  if (!Array.isArray(list)) {
    const where = path === '' ? 'is not an array of records' : `has no array of records at "${path}"`
    throw new FxmError('invalid_input', `The reply of GET ${url} ${where} (recordsPath)`)
  }
  return list.map((record: unknown, i) => {
    if (typeof record !== 'object' || record === null || Array.isArray(record))
      throw new FxmError('invalid_input', `Record ${i} of GET ${url} is not a JSON object`)
    const item = record as Record<string, unknown>
    if (config.idPath === undefined)
      return { key: createHash('md5').update(JSON.stringify(item)).digest('hex'), record: item }
    const key = token(valueAt(item, config.idPath))
    if (key === null)
      throw new FxmError(
        'invalid_input',
        `Record ${i} of GET ${url} has no id at "${config.idPath}" (idPath)`,
      )
    return { key, record: item }
  })
}

/** The error with every credential of the source (and its Basic form) masked, should a reply echo one. */
function withoutSecrets(error: unknown, secrets: Record<string, string>): unknown {
  if (!(error instanceof Error)) return error
  const values = Object.values(secrets)
  if (secrets.username !== undefined && secrets.password !== undefined)
    values.push(basicCredentials(secrets.username, secrets.password))
  let message = error.message
  for (const value of values.filter((v) => v.length >= 4).sort((a, b) => b.length - a.length))
    message = message.split(value).join('***')
  if (message === error.message) return error
  return new FxmError(error instanceof FxmError ? error.code : 'unavailable', message)
}
