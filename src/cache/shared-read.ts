import { UnknownKeyError } from '../errors.js'
import type { Entry } from '../core/entry.js'
import type { EngineEvents, MissReason } from './events.js'
import { CORRUPT, FAILED, type GuardedTier } from './guarded-tier.js'
import type { Sealer } from './sealing.js'

/**
 * Reads `keys` from one shared tier: one `get` for one key, else one `getMany`. Each slot is the
 * entry with its value (decrypted when sealed), or why there is none: `absent`, `unavailable` (the
 * tier failed or its circuit is open) or `unreadable`. Never rejects.
 *
 * An entry that cannot be decoded is dropped from the tier (`entry:corrupt`); one sealed under a key
 * this process lacks is left for the processes that have it (`entry:unreadable`).
 */
export async function readShared(
  tier: GuardedTier,
  namespace: string,
  keys: readonly string[],
  sealer: Sealer,
  events: EngineEvents,
): Promise<(Entry | MissReason)[]> {
  if (keys.length === 1) return [await readOne(tier, namespace, keys[0] as string, sealer, events)]
  const stored = await tier.call('getMany', (t) => t.getMany(namespace, keys))
  if (stored === FAILED) return keys.map(() => 'unavailable')
  // One undecodable entry fails the batch: read key by key to find and drop it.
  if (stored === CORRUPT) return Promise.all(keys.map((key) => readOne(tier, namespace, key, sealer, events)))
  return stored.map((entry) => (entry === undefined ? 'absent' : unsealed(tier, entry, sealer, events)))
}

async function readOne(tier: GuardedTier, namespace: string, key: string, sealer: Sealer, events: EngineEvents): Promise<Entry | MissReason> {
  const stored = await tier.call('get', (t) => t.get(namespace, key))
  if (stored === FAILED) return 'unavailable'
  if (stored === CORRUPT) {
    dropCorrupt(tier, namespace, key, events)
    return 'unreadable'
  }
  return stored === undefined ? 'absent' : unsealed(tier, stored, sealer, events)
}

/** The entry with its value, decrypted when sealed, or `unreadable`. */
function unsealed(tier: GuardedTier, entry: Entry, sealer: Sealer, events: EngineEvents): Entry | MissReason {
  try {
    return sealer.unseal(entry)
  } catch (error) {
    if (error instanceof UnknownKeyError) {
      events.emit('entry:unreadable', { level: tier.level, namespace: entry.namespace, key: entry.key, error })
    } else {
      dropCorrupt(tier, entry.namespace, entry.key, events)
    }
    return 'unreadable'
  }
}

function dropCorrupt(tier: GuardedTier, namespace: string, key: string, events: EngineEvents): void {
  events.emit('entry:corrupt', { level: tier.level, namespace, key })
  void tier.call('delete', (t) => t.delete(namespace, key))
}
