// The same four operations on three libraries' SQL stores, so that the SQLite and PostgreSQL suites
// differ only in how the stores are opened.
import { encodeValue } from '../../dist/core/codec.js'
import { VALUE, WARM_KEY, fillKeys, randomKey } from './fixtures.js'
import { figures, formatRatio, measure } from './harness.js'

/** Every store keeps entries this long: nothing expires during a run. */
export const TTL_MS = 60 * 60_000

/**
 * One library's store, reduced to what the suites time.
 * @typedef {object} Store
 * @property {string} label - row label, e.g. `tiercache tier`
 * @property {(key: string) => Promise<unknown>} get - resolves the value, undefined on a miss
 * @property {(key: string) => Promise<unknown>} set - stores {@link VALUE} under key
 */

/** A tiercache tier (the `Tier` interface) as a {@link Store}, on `namespace`. */
export function tierStore(tier, namespace) {
  return {
    label: 'tiercache tier',
    get: async (key) => (await tier.get(namespace, key))?.value,
    // What the engine hands a shared tier on a write: the entry with its encoded payload. The
    // encoding is timed too, as the other libraries serialize inside their `set`.
    set: (key) => {
      const payload = encodeValue(VALUE)
      const now = Date.now()
      return tier.set({
        namespace,
        key,
        value: VALUE,
        payload,
        size: payload.byteLength,
        createdAt: now,
        freshUntil: now + TTL_MS,
        staleUntil: now + TTL_MS,
        tags: [],
      })
    },
  }
}

/** A bentocache instance (its default store) as a {@link Store}. */
export function bentoStore(bento) {
  return {
    label: 'bentocache',
    get: (key) => bento.get({ key }),
    set: (key) => bento.set({ key, value: VALUE, ttl: TTL_MS }),
  }
}

/** A cache-manager instance as a {@link Store}. */
export function managerStore(manager) {
  return {
    label: 'cache-manager',
    get: (key) => manager.get(key),
    set: (key) => manager.set(key, VALUE, TTL_MS),
  }
}

const OPERATIONS = [
  { name: 'get warm', op: 'get', key: () => WARM_KEY },
  { name: 'get random', op: 'get', key: randomKey },
  { name: 'set warm', op: 'set', key: () => WARM_KEY },
  { name: 'set random', op: 'set', key: randomKey },
]

/**
 * Fills every store with the warm key and the 10k random-pick keys, checks that each reads them
 * back, then times get and set on a warm key and on random keys, grouped by operation so that the
 * libraries sit next to each other. Each call is timed alone (batch 1): p99 is per call.
 *
 * @param {Store[]} stores - the first is the one the ratios are about
 * @param {{ time: number, warmupTime: number }} timing
 * @param {number} fillConcurrency - writes in flight while filling (1 for embedded databases)
 */
export async function compareStores(stores, timing, fillConcurrency) {
  for (const store of stores) {
    await fillKeys(store.set, fillConcurrency)
    for (const key of [WARM_KEY, randomKey(0), randomKey(1)]) {
      if ((await store.get(key)) === undefined) throw new Error(`${store.label} does not read back ${key} after filling`)
    }
  }

  // A get that misses would time a cheaper path than the row claims: count misses and say so.
  const misses = new Map()
  const tasks = []
  for (const { name, op, key } of OPERATIONS) {
    for (const store of stores) {
      const row = `${name} · ${store.label}`
      const fn =
        op === 'set'
          ? (i) => store.set(key(i))
          : async (i) => {
              if ((await store.get(key(i))) === undefined) misses.set(row, (misses.get(row) ?? 0) + 1)
            }
      tasks.push({ name: row, fn })
    }
  }
  const rows = await measure(tasks, timing)
  for (const row of rows) {
    if (misses.has(row.name) && row.error === undefined) row.error = `invalid: ${misses.get(row.name)} misses`
  }
  return { rows, notes: [ratioNote(rows, stores)] }
}

/** How many times the first store's ops/s the others' are, per operation. */
function ratioNote(rows, stores) {
  const [ours, ...others] = stores
  const lines = others.map((other) => {
    const parts = OPERATIONS.map(({ name }) => {
      const a = figures(rows, `${name} · ${ours.label}`)
      const b = figures(rows, `${name} · ${other.label}`)
      return `${name} ${a && b ? formatRatio(a.opsPerSec / b.opsPerSec) : '-'}`
    })
    return `- ${ours.label} vs ${other.label} (ops/s ratio): ${parts.join(', ')}`
  })
  return ['ratios:', ...lines].join('\n')
}
