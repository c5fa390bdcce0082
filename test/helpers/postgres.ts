import postgres, { type Sql } from 'postgres'

/** The PostgreSQL the tests use; every table they touch is tiercache's own. */
export const TEST_POSTGRES_URL = process.env.TIERCACHE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A one-connection client for test set-up and inspection, quiet about notices. End it after use. */
export function openAdminClient(url: string = TEST_POSTGRES_URL): Sql {
  return postgres(url, { max: 1, onnotice: () => {} })
}

/** Drops the tier's tables and migration journal, so that the next tier start migrates from scratch. */
export async function dropTiercacheTables(admin: Sql): Promise<void> {
  await admin`drop table if exists tiercache_entries, tiercache_api_keys, tiercache_audit, tiercache_metric_rollups, tiercache_migrations`
}

/** A database of a test file's own, on the server of {@link TEST_POSTGRES_URL}. */
export interface ScratchDatabase {
  readonly url: string
  /** Drops it, closing what is still connected. */
  drop(): Promise<void>
}

/**
 * A new, empty database for a test file that drops tiercache's tables ({@link dropTiercacheTables}):
 * the other files share the database of {@link TEST_POSTGRES_URL}, in parallel, and would lose their
 * tables mid-test.
 */
export async function scratchDatabase(label: string): Promise<ScratchDatabase> {
  const base = new URL(TEST_POSTGRES_URL)
  const name = `${base.pathname.slice(1) || 'test'}_${label}_${process.pid}_${Date.now().toString(36)}`
  const admin = openAdminClient()
  try {
    await admin.unsafe(`create database "${name}"`)
  } finally {
    await admin.end()
  }
  const url = new URL(TEST_POSTGRES_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const admin = openAdminClient()
      try {
        await admin.unsafe(`drop database if exists "${name}" with (force)`)
      } finally {
        await admin.end()
      }
    },
  }
}
