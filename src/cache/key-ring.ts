import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { loadOrCreateKeyRing } from '../security/crypto/key-file.js'
import { KeyRing, keyRingFromEnv } from '../security/crypto/key-ring.js'
import type { ResolvedCacheOptions } from './options.js'

/** Name of the key file created beside the SQLite file on the embedded default. */
export const DEFAULT_KEY_FILE = 'tiercache.keys'

/**
 * The key ring that seals non-public entries in the shared tiers: the one given, else
 * `TIERCACHE_KEYS`, else the given key file, else, on the embedded default (an SQLite file and no
 * Redis), a key file beside the SQLite file, created on first start. With Redis, instances on other
 * hosts must share the ring, so none is made up: without one, scoped views cannot be created.
 * `false`: encryption is off.
 */
export function keyRingFor(options: ResolvedCacheOptions): KeyRing | false | undefined {
  const { encryption } = options.security
  if (encryption === false) return false
  if (encryption.keyRing !== undefined) return encryption.keyRing
  const fromEnv = keyRingFromEnv(process.env)
  if (fromEnv !== undefined) return fromEnv
  if (encryption.keyFile !== undefined) return loadOrCreateKeyRing(encryption.keyFile)
  if (options.l2 !== false) return undefined
  if (options.l3 === false || ('sqlite' in options.l3 && options.l3.sqlite === ':memory:')) {
    // Nothing leaves this process: a key that lives as long as it does is enough.
    return KeyRing.from([{ id: 'k1', key: randomBytes(32) }])
  }
  if ('sqlite' in options.l3) return defaultKeyRing(join(dirname(options.l3.sqlite), DEFAULT_KEY_FILE))
  return undefined
}

/**
 * The key file of the embedded default, created on first start. When it cannot be created where the
 * SQLite file should be (that folder is not writable: the tier will fail too, and say so), there is
 * no ring: the cache still serves public entries, and scoped views are refused.
 */
function defaultKeyRing(path: string): KeyRing | undefined {
  try {
    return loadOrCreateKeyRing(path)
  } catch (error) {
    // A key file that exists but is refused (too open, malformed) is an error to report, never to skip.
    if (existsSync(path)) throw error
    return undefined
  }
}
