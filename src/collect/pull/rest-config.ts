import { z } from 'zod'

/** Records asked for per page when the source names no `pageSize`. */
export const REST_PULL_PAGE_SIZE = 100
/** How long one request may take when the source names no `timeoutMs`. */
export const REST_PULL_TIMEOUT_MS = 30_000
/** Pages one run reads at most when the source names no `maxPages`; the next run resumes. */
export const REST_PULL_MAX_PAGES = 1000

const dotPath = z
  .string()
  .max(200)
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'use a dot path such as "meta.next_cursor"')
const param = z.string().min(1).max(100)

const cursorPagination = z
  .object({
    mode: z.literal('cursor'),
    param: param.default('cursor').describe('Query parameter that carries the cursor'),
    nextPath: dotPath.describe('Where the reply names the next cursor; none, null or "" ends the run'),
    sizeParam: param.optional().describe('Query parameter for the page size, if the API takes one'),
  })
  .strict()

const sincePagination = z
  .object({
    mode: z.literal('since'),
    param: param.default('updated_since').describe('Query parameter for the last value read (inclusive)'),
    cursorPath: dotPath.describe("The record's field that grows with every change, e.g. updated_at"),
    limitParam: param.optional().describe('Query parameter for the page size, if the API takes one'),
  })
  .strict()

const pagePagination = z
  .object({
    mode: z.literal('page'),
    param: param.default('page').describe('Query parameter for the page number'),
    sizeParam: param.optional().describe('Query parameter for the page size, if the API takes one'),
    start: z.number().int().min(0).default(1).describe('Number of the first page'),
  })
  .strict()

/**
 * The settings of a `rest` source (its `config`); credentials are its secrets (`token`,
 * `username` and `password`, or `header:<Name>`). Loose: the same config carries the keys
 * harmonize reads (`unknownRefPolicy`, `junkIds`).
 *
 * @example
 * restSourceConfigSchema.parse({ url: 'https://crm.example/api/contacts', recordsPath: 'data',
 *   idPath: 'id', pagination: { mode: 'cursor', nextPath: 'meta.next_cursor' } })
 */
export const restSourceConfigSchema = z
  .object({
    url: z
      .url({ protocol: /^https?$/, message: 'use an http or https URL' })
      .refine((url) => !/^[a-z]+:\/\/[^/?#]*@/i.test(url), 'put credentials in secrets, not in the URL'),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'use a plain header name'), z.string())
      .optional(),
    recordsPath: z
      .union([z.literal(''), dotPath])
      .default('')
      .describe('Where the reply holds the array of records; "" when the reply is the array'),
    idPath: dotPath.optional().describe("The record's id; without it, a hash of the record"),
    pagination: z.discriminatedUnion('mode', [cursorPagination, sincePagination, pagePagination]),
    pageSize: z.number().int().min(1).max(10_000).default(REST_PULL_PAGE_SIZE),
    timeoutMs: z.number().int().min(100).max(300_000).default(REST_PULL_TIMEOUT_MS),
    retries: z.number().int().min(0).max(10).default(3).describe('Retries of a 429 or 5xx reply per page'),
    maxPages: z.number().int().min(1).max(100_000).default(REST_PULL_MAX_PAGES),
  })
  .loose()

export type RestSourceConfig = z.infer<typeof restSourceConfigSchema>
export type RestPagination = RestSourceConfig['pagination']
