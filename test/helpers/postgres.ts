import postgres, { type Sql } from 'postgres'

/** The PostgreSQL the tests use; every table they touch is tiercache's own. */
export const TEST_POSTGRES_URL = process.env.TIERCACHE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A one-connection client for test set-up and inspection, quiet about notices. End it after use. */
export function openAdminClient(): Sql {
  return postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} })
}

/** Drops the tier's tables and migration journal, so that the next tier start migrates from scratch. */
export async function dropTiercacheTables(admin: Sql): Promise<void> {
  await admin`drop table if exists tiercache_entries, tiercache_api_keys, tiercache_audit, tiercache_metric_rollups, tiercache_migrations`
}
