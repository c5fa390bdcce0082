/**
 * The `--postgres` / `--sqlite` flags that say which database holds the SQL tier (L3), shared by the
 * commands that open it (`serve`, `keys`), so that they resolve the same flags and environment to the
 * same database: run from the same place with the same configuration, `tiercache keys` manages the
 * keys that `tiercache serve` checks.
 */
import { resolve } from 'node:path'
import { type Command, Option } from 'commander'
import { InvalidOptionsError } from '../errors.js'

/** Default SQLite file of `tiercache serve`, relative to the working directory: the library's default. */
export const DEFAULT_SQLITE_PATH = './.tiercache/cache.db'

/** The flags {@link postgresOption} and {@link sqliteOption} add. */
export interface StorageFlags {
  readonly postgres?: string
  readonly sqlite: string
}

/** `--postgres <url>`, from DATABASE_URL when not given. */
export function postgresOption(description: string): Option {
  return new Option('--postgres <url>', description).env('DATABASE_URL')
}

/** `--sqlite <path>`, from TIERCACHE_SQLITE when not given, else {@link DEFAULT_SQLITE_PATH}. */
export function sqliteOption(description: string): Option {
  return new Option('--sqlite <path>', description).env('TIERCACHE_SQLITE').default(DEFAULT_SQLITE_PATH)
}

/**
 * PostgreSQL when a URL is given, else SQLite. A flag on the command line wins over the environment,
 * so `--sqlite x` with DATABASE_URL set uses SQLite; both flags on the command line is an error.
 * @throws InvalidOptionsError when both `--postgres` and `--sqlite` are on the command line
 */
export function chooseL3(flags: StorageFlags, command: Command): { sqlite: string } | { postgres: string } {
  if (flags.postgres === undefined) return { sqlite: flags.sqlite }
  const postgresFrom = command.getOptionValueSource('postgres')
  const sqliteFrom = command.getOptionValueSource('sqlite')
  if (postgresFrom === 'cli' && sqliteFrom === 'cli') throw new InvalidOptionsError('give --postgres or --sqlite, not both')
  if (postgresFrom === 'env' && sqliteFrom === 'cli') return { sqlite: flags.sqlite }
  return { postgres: flags.postgres }
}

/**
 * The database a command opened, for people: `the SQLite file /abs/path/cache.db`, or `the
 * PostgreSQL database postgres://user@host:5432/db` without the password.
 */
export function describeStorage(location: { readonly sqlite: string } | { readonly postgres: string }): string {
  if ('sqlite' in location) return location.sqlite === ':memory:' ? 'a private in-memory SQLite database' : `the SQLite file ${resolve(location.sqlite)}`
  try {
    const url = new URL(location.postgres)
    url.password = ''
    return `the PostgreSQL database ${url.toString()}`
  } catch {
    // Not a URL (a libpq string?): it may hold a password anywhere, so name no part of it.
    return 'the PostgreSQL database of --postgres'
  }
}
