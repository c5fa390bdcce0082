// Suite 5: the Redis tier (L2) through the whole engine, against the floor of a hand-written Redis
// cache (one ioredis command plus the msgpack step) and against bentocache's Redis store, on the
// local Redis. Skipped with a note when Redis cannot be reached.
//
// Two paths: a getOrSet that L1 cannot serve (so one GET to Redis and one decode), and a set that
// writes L1, Redis and the bus. Every key of the run starts with a prefix of its own, removed at the
// end, so that the suite neither sees nor leaves anything in a shared Redis.
import { Buffer } from 'node:buffer'
import { clearTimeout } from 'node:timers'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { Redis } from 'ioredis'
import { decodeValue, encodeValue } from '../../dist/core/codec.js'
import { createCache } from '../../dist/index.js'
import { createRedisTier } from '../../dist/tiers/redis/index.js'
import { REDIS_URL, RUN_ID, VALUE, WARM_KEY, probeRedis, redact } from '../lib/fixtures.js'
import { formatCount, formatDuration, formatRatio, measure, measurePaired } from '../lib/harness.js'

const TTL_MS = 60 * 60_000
const NAMESPACE = 'bench'
/** Start of every Redis key this run writes (tiercache's, bentocache's and the raw ones) and of its bus channels. */
const PREFIX = `tcbench-${RUN_ID}`
/** The goals: at most these times the raw client's time (the medians of alternated calls; see pairedNote). */
const GET_GOAL = 1.2
const SET_GOAL = 1.5

const ROW = {
  rawGet: 'getOrSet from L2 · raw ioredis GET + decode',
  bareTier: 'getOrSet from L2 · tiercache Redis tier alone (tier.get)',
  tierGet: 'getOrSet from L2 · tiercache getOrSet (bus on)',
  tierGetNoBus: 'getOrSet from L2 · tiercache getOrSet (bus off)',
  bentoGet: 'getOrSet from L2 · bentocache getOrSet (L2 only)',
  rawSet: 'set · raw ioredis encode + SET',
  tierSet: 'set · tiercache set (L1 + L2 + bus)',
  tierSetNoBus: 'set · tiercache set (L1 + L2, bus off)',
  bentoSet: 'set · bentocache set (L1 + L2 + bus)',
}

// The factories never run (every key is warm); if one did, the row would time a miss and a write
// instead of a hit, so count calls and fail loudly.
let factoryCalls = 0
const factory = () => {
  factoryCalls++
  return VALUE
}

export default {
  name: 'l2',
  title: 'L2 (Redis): getOrSet served from Redis (L1 miss), and a tiered set (L1 + Redis + bus), ~200-byte value',
  async run(timing) {
    const unreachable = await probeRedis(REDIS_URL)
    if (unreachable !== undefined) {
      return { rows: [], notes: [`skipped: Redis at ${redact(REDIS_URL)} is unreachable (${unreachable}); set BENCH_REDIS_URL.`] }
    }

    const closers = []
    // The raw side: ioredis with its defaults, as a hand-written Redis cache would use it. Also the
    // client that checks and removes this run's keys at the end.
    const raw = new Redis(REDIS_URL)
    try {
      // Each tiercache instance has a prefix of its own, hence a bus channel of its own
      // (`<prefix>:bus`): an instance must not spend the event loop, during another one's row,
      // decoding the messages that one publishes.
      //
      // tiercache with no L1, so every getOrSet is a GET to Redis; bus and lock on, as an L2 user
      // runs it (they cost nothing on a hit, which the bus-off row checks).
      const l2Only = openTiercache(`${PREFIX}:get`, { l1: false, bus: true }, closers)
      const l2OnlyNoBus = openTiercache(`${PREFIX}:get-nobus`, { l1: false, bus: false }, closers)
      // The tier without the engine, on the first one's keys: what the engine adds is the difference.
      const tier = createRedisTier({ connection: REDIS_URL, prefix: `${PREFIX}:get` })
      closers.push(() => tier.close())
      // tiercache with L1, L2 and the bus, for the writes.
      const tiered = openTiercache(`${PREFIX}:set`, { l1: {}, bus: true }, closers)
      const tieredNoBus = openTiercache(`${PREFIX}:set-nobus`, { l1: {}, bus: false }, closers)

      // bentocache with Redis as its only layer: nothing in process memory can answer, as with
      // `l1: false`. Its bus is left out: with no L1 there is nothing for it to keep in step.
      const bentoGetClient = new Redis(REDIS_URL)
      closers.push(() => bentoGetClient.quit())
      const bentoL2 = new BentoCache({
        default: 'redis',
        prefix: `${PREFIX}:bento`,
        stores: { redis: bentostore().useL2Layer(redisDriver({ connection: bentoGetClient })) },
      })
      closers.push(() => bentoL2.disconnectAll())
      // bentocache as its multi-tier docs set it up: memory L1, Redis L2, Redis bus.
      const bentoSetClient = new Redis(REDIS_URL)
      const bentoBusClient = new Redis(REDIS_URL)
      closers.push(() => bentoSetClient.quit(), () => bentoBusClient.quit())
      const bentoTiered = new BentoCache({
        default: 'tiered',
        prefix: `${PREFIX}:bento-tiered`,
        stores: {
          tiered: bentostore()
            .useL1Layer(memoryDriver({ maxItems: 10_000 }))
            .useL2Layer(redisDriver({ connection: bentoSetClient }))
            .useBus(redisBusDriver({ connection: bentoBusClient })),
        },
      })
      closers.push(() => bentoTiered.disconnectAll())

      // Wait for the buses to subscribe: until then the engine keeps L1 suspended (it may have
      // missed an invalidation), and the subscribing would run inside the first rows' warm-up.
      await Promise.all([l2Only.listening, tiered.listening])

      // The warm key, written once per library; the raw key holds exactly the bytes tiercache's
      // codec makes of the value (tiercache's record adds a 29-byte header in front of them).
      const rawKey = `${PREFIX}:raw:${WARM_KEY}`
      await raw.set(rawKey, Buffer.from(encodeValue(VALUE)), 'PX', TTL_MS)
      for (const { cache } of [l2Only, l2OnlyNoBus, tiered, tieredNoBus]) await cache.set(WARM_KEY, VALUE)
      await bentoL2.set({ key: WARM_KEY, value: VALUE, ttl: TTL_MS })
      await bentoTiered.set({ key: WARM_KEY, value: VALUE, ttl: TTL_MS })
      await checkPaths({ raw, rawKey, tier, l2Only, l2OnlyNoBus, tiered, bentoL2 })

      let misses = 0
      const hit = (value) => {
        if (value === undefined || value === null) misses++
      }
      const getTasks = [
        { name: ROW.rawGet, fn: async () => hit(decodeOrUndefined(await raw.getBuffer(rawKey))) },
        { name: ROW.bareTier, fn: async () => hit((await tier.get(NAMESPACE, WARM_KEY))?.value) },
        { name: ROW.tierGet, fn: async () => hit(await l2Only.cache.getOrSet(WARM_KEY, factory)) },
        { name: ROW.tierGetNoBus, fn: async () => hit(await l2OnlyNoBus.cache.getOrSet(WARM_KEY, factory)) },
        { name: ROW.bentoGet, fn: async () => hit(await bentoL2.getOrSet({ key: WARM_KEY, factory, ttl: TTL_MS })) },
      ]
      const setTasks = [
        // The encoding is timed: cache.set encodes inside the call too.
        { name: ROW.rawSet, fn: () => raw.set(rawKey, Buffer.from(encodeValue(VALUE)), 'PX', TTL_MS) },
        { name: ROW.tierSet, fn: () => tiered.cache.set(WARM_KEY, VALUE) },
        { name: ROW.tierSetNoBus, fn: () => tieredNoBus.cache.set(WARM_KEY, VALUE) },
        { name: ROW.bentoSet, fn: () => bentoTiered.set({ key: WARM_KEY, value: VALUE, ttl: TTL_MS }) },
      ]
      factoryCalls = 0
      const rows = await measure([...getTasks, ...setTasks], timing)
      // The goals compare tiercache with the raw client within 1.2-1.5×, less than a round trip
      // drifts between two rows timed seconds apart here: judge them, and the comparison with
      // bentocache, on calls alternated with the raw ones (see measurePaired). The bare tier and the
      // bus-off set split the difference into the tier's share, the engine's and the bus's.
      const pick = (tasks, names) => names.map((name) => tasks.find((task) => task.name === name))
      const pairedGet = await measurePaired(pick(getTasks, [ROW.rawGet, ROW.bareTier, ROW.tierGet, ROW.bentoGet]), timing)
      const pairedSet = await measurePaired(pick(setTasks, [ROW.rawSet, ROW.tierSetNoBus, ROW.tierSet, ROW.bentoSet]), timing)
      if (factoryCalls > 0) throw new Error(`a factory ran ${factoryCalls} times on a warm key: the getOrSet rows are not L2 hits`)
      if (misses > 0) throw new Error(`${misses} reads missed the warm key: the rows are not L2 hits`)
      // An error the engine swallowed (a timeout, a failed publish) would make a row look cheaper.
      const errors = [l2Only, l2OnlyNoBus, tiered, tieredNoBus].flatMap((t) => t.errors)
      if (errors.length > 0) throw new Error(`tiercache reported ${errors.length} tier or bus errors during the run; first: ${errors[0]}`)
      return {
        rows,
        notes: [
          `Redis ${redact(REDIS_URL)}; keys under ${PREFIX} (removed afterwards). Each call is timed alone: p99 is per call.`,
          pairedNote(pairedGet, pairedSet),
        ],
      }
    } finally {
      for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => undefined)
      await removeRunKeys(raw).catch(() => undefined)
      raw.disconnect()
    }
  },
}

/**
 * A tiercache cache on `prefix` with the given L1 and bus, and no L3. `listening` resolves once its
 * bus has subscribed (at once without a bus); `errors` collects what the engine reports.
 */
function openTiercache(prefix, { l1, bus }, closers) {
  const cache = createCache({ namespace: NAMESPACE, ttl: TTL_MS, l1, l2: { redis: REDIS_URL, prefix, bus, lock: true }, l3: false })
  closers.push(() => cache.close())
  const errors = []
  const record = (event) => errors.push(event.error instanceof Error ? event.error.message : String(event.error))
  cache.on('tier:error', record)
  cache.on('bus:error', record)
  const listening = bus
    ? new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('a tiercache bus did not subscribe within 5 s')), 5_000)
        cache.on('bus:state', (state) => {
          if (!state.listening) return
          clearTimeout(timer)
          resolve()
        })
      })
    : Promise.resolve()
  return { cache, listening, errors }
}

/**
 * Checks that each row takes the path it is named after before timing it: a wrong setup (a bus that
 * never listened, a key under another prefix) would otherwise time a cheaper or dearer path silently.
 */
async function checkPaths({ raw, rawKey, tier, l2Only, l2OnlyNoBus, tiered, bentoL2 }) {
  const same = (value) => JSON.stringify(value) === JSON.stringify(VALUE)
  if (!same(decodeOrUndefined(await raw.getBuffer(rawKey)))) throw new Error('the raw key does not read back the value')
  if (!same((await tier.get(NAMESPACE, WARM_KEY))?.value)) throw new Error('the bare tier does not read back the value')
  for (const [label, { cache }] of [
    ['l1: false, bus on', l2Only],
    ['l1: false, bus off', l2OnlyNoBus],
  ]) {
    const served = await cache.getOrSetWithInfo(WARM_KEY, factory)
    if (served.source !== 'l2' || !same(served.value)) throw new Error(`tiercache (${label}) served the warm key from ${served.source}, not l2`)
  }
  // With its bus listening, a set lands in L1 too; a suspended L1 would drop it.
  const served = await tiered.cache.getWithInfo(WARM_KEY)
  if (served?.source !== 'l1') throw new Error(`tiercache with L1 serves the key it just set from ${served?.source}: is L1 suspended?`)
  if (!same(await bentoL2.getOrSet({ key: WARM_KEY, factory, ttl: TTL_MS }))) throw new Error('bentocache does not read back the value')
  if (factoryCalls > 0) throw new Error('a factory ran during the checks: a warm key is missing')
}

/** The msgpack step a hand-written Redis cache does on a hit. */
function decodeOrUndefined(buffer) {
  return buffer === null ? undefined : decodeValue(buffer)
}

/**
 * Removes every key of this run: tiercache's (`{<prefix>:<ns>}:...` and `<prefix>:namespaces`),
 * bentocache's and the raw one (`<prefix>:...`). SCAN, not KEYS, so a large shared Redis is not
 * blocked.
 */
async function removeRunKeys(client) {
  for (const match of [`${PREFIX}:*`, `{${PREFIX}:*`]) {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000)
      if (keys.length > 0) await client.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  }
}

/**
 * The goals: tiercache's getOrSet served from L2 within 1.2× the raw GET + decode, and its tiered set
 * within 1.5× the raw SET, judged on the medians of alternated calls (the means follow in brackets;
 * a few preempted calls, common on a shared machine, move them by more than the goals' margins).
 * Then bentocache against tiercache, from the same alternated calls.
 */
function pairedNote(get, set) {
  const [rawGet, bareTier, tierGet, bentoGet] = get
  const [rawSet, setNoBus, setBus, bentoSet] = set
  const line = (what, ours, raw, rawLabel, goal) => {
    const r = ours.p50 / raw.p50
    const verdict = goal === undefined ? '' : `; goal ≤ ${goal}×: ${r <= goal ? 'met' : 'NOT met'}`
    return (
      `${what} = ${formatRatio(r)} ${rawLabel} (p50 ${formatDuration(ours.p50)} vs ${formatDuration(raw.p50)}; ` +
      `means ${formatRatio(ours.mean / raw.mean)}${verdict})`
    )
  }
  return [
    `ratios, on alternated calls (${formatCount(tierGet.samples)} and ${formatCount(setBus.samples)} calls of each):`,
    `- ${line('getOrSet from L2', tierGet, rawGet, 'raw GET+decode', GET_GOAL)}`,
    `  - ${line('the Redis tier alone (tier.get)', bareTier, rawGet, 'raw GET+decode')}`,
    `- ${line('set (L1 + L2 + bus)', setBus, rawSet, 'raw SET', SET_GOAL)}`,
    `  - ${line('the same with the bus off', setNoBus, rawSet, 'raw SET')}`,
    `- ${line("bentocache's getOrSet from L2", bentoGet, tierGet, "tiercache's")}`,
    `- ${line("bentocache's set (L1 + L2 + bus)", bentoSet, setBus, "tiercache's")}`,
  ].join('\n')
}
