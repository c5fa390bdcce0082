/**
 * API keys: random, shown once, stored only as a hash, each bound to a tenant, to roles and to a
 * rate-limit plan. Clients present them as `Authorization: Bearer tc_<id>_<secret>`; see `key.ts`
 * for the format and why a plain SHA-256 suffices, `roles.ts` for the roles and plan names.
 */
import { type CredentialStore, type CredentialStoreOptions, createCredentialStore } from './store.js'
import { type StorageLocation, parseStorageLocation } from './location.js'
import { connectPostgresStorage, openSqliteStorage } from './storage.js'

export { KEY_ID_PATTERN, parseKey, redactKeys } from './key.js'
export { DEFAULT_KEY_PLAN, ROLES, type Role, TENANT_PATTERN, planNameSchema, rolesSchema, splitRoles, tenantSchema } from './roles.js'
export {
  type CreatedKey,
  type CredentialBackend,
  type CredentialStore,
  type CredentialStoreOptions,
  type KeyInfo,
  type KeyRow,
  LAST_USED_RESOLUTION_MS,
  type NewKeyInput,
  type Principal,
  createCredentialStore,
} from './store.js'
export type { StorageLocation } from './location.js'

/** Options of {@link openCredentialStore}. */
export interface OpenCredentialStoreOptions extends CredentialStoreOptions {
  /** Pool size, PostgreSQL only. @default 4 */
  readonly maxConnections?: number
}

/**
 * Opens the API keys stored in the database at `location`, the same database as the SQL tier's
 * (the tables are created by the tier's migrations, run here if no one has yet), on a connection of
 * its own that {@link CredentialStore.close} closes.
 *
 * @throws InvalidOptionsError when `location` is malformed
 * @throws TierUnavailableError when the database cannot be opened or reached
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export async function openCredentialStore(location: StorageLocation, options: OpenCredentialStoreOptions = {}): Promise<CredentialStore> {
  const parsed = parseStorageLocation(location, 'API key storage')
  if ('sqlite' in parsed) {
    const [db, { SqliteCredentialBackend }] = await Promise.all([openSqliteStorage(parsed.sqlite), import('./sqlite.js')])
    return createCredentialStore(new SqliteCredentialBackend(db, true), options)
  }
  const [client, { PostgresCredentialBackend }] = await Promise.all([
    connectPostgresStorage(parsed.postgres, 'tiercache-credentials', options.maxConnections ?? 4),
    import('./postgres.js'),
  ])
  return createCredentialStore(new PostgresCredentialBackend(client, true), options)
}
