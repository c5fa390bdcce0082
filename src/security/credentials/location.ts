import { z } from 'zod'
import { parseOptions } from '../../core/options.js'

/**
 * Where API keys and the audit log live: the database of the SQL tier (L3) of `tiercache serve`,
 * named as `CacheOptions['l3']` names it: an SQLite file path (`':memory:'` for a private, throwaway
 * database) or a PostgreSQL URL. The tables are created by the migrations of `src/sql/`, which the
 * tier, the API keys and the audit log share, whichever of them opens the database first.
 */
export type StorageLocation = { readonly sqlite: string } | { readonly postgres: string }

const locationSchema = z.union([
  z.object({ sqlite: z.string().min(1) }).strict(),
  z.object({ postgres: z.string().regex(/^postgres(?:ql)?:\/\//, 'must be a postgres:// or postgresql:// URL') }).strict(),
])

/**
 * Checks a location. Messages name the field, never its value (a URL may hold a password).
 * @throws InvalidOptionsError when it is neither `{ sqlite: path }` nor `{ postgres: url }`
 */
export function parseStorageLocation(location: StorageLocation, what: string): StorageLocation {
  return parseOptions(locationSchema, location, what)
}
