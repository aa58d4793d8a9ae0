import { z } from 'zod'

/** Rows per page when the source names no `batchSize`. */
export const SQL_PULL_BATCH_SIZE = 1000

const identifier = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'use a plain column name')

/**
 * The settings of a `sql` source (its `config`); the URL may instead be the credential `url`.
 * Loose: the same config carries the keys harmonize reads (`unknownRefPolicy`, `junkIds`).
 *
 * @example
 * sqlSourceConfigSchema.parse({ table: 'orders', cursorColumn: 'updated_at', idColumns: ['id'] })
 */
export const sqlSourceConfigSchema = z
  .object({
    url: z.string().startsWith('postgres').optional(),
    table: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, 'use "table" or "schema.table"')
      .optional(),
    query: z.string().min(1).optional(),
    cursorColumn: identifier,
    idColumns: z.array(identifier).min(1).optional(),
    batchSize: z.number().int().min(1).max(50_000).optional(),
  })
  .loose()
  .refine((c) => (c.table === undefined) !== (c.query === undefined), 'give either table or query')

export type SqlSourceConfig = z.infer<typeof sqlSourceConfigSchema>
