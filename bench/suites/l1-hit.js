// Suite 1: a read served from process memory (an L1 hit), the path most cache calls take.
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { createCache as createCacheManager } from 'cache-manager'
import { createCache } from '../../dist/index.js'
import { VALUE, WARM_KEY } from '../lib/fixtures.js'
import { figures, formatRatio, measure } from '../lib/harness.js'

// Every call here is 0.1-10 µs: time them 1000 at a time (see `measure`).
const BATCH = 1000
const TTL_MS = 60 * 60_000

// The factories never run during the measurement (the key is warm); if one did, the row would
// silently measure something else, so count calls and fail loudly.
let factoryCalls = 0
const factory = () => {
  factoryCalls++
  return VALUE
}

export default {
  name: 'l1',
  title: 'L1 hit: getOrSet on a warm key in process memory',
  async run(timing) {
    // The floor: what any in-memory cache must at least pay, a hash lookup and an await.
    const floor = new Map([[WARM_KEY, VALUE]])

    // Instruments on (the default), and off, to show what they cost on the hot path.
    const tiercache = createCache({ namespace: 'bench', ttl: TTL_MS, l3: false })
    const bare = createCache({ namespace: 'bench', ttl: TTL_MS, l3: false, metrics: false })
    // The engine's events are always on; this one has a listener on the event an L1 hit emits, as
    // a metrics exporter would, to show what hearing every hit costs.
    const observed = createCache({ namespace: 'bench', ttl: TTL_MS, l3: false })
    let hitsHeard = 0
    observed.on('tier:hit', () => void hitsHeard++)
    // bentocache with its memory driver as the only layer, as its users get it out of the box:
    // entries serialized (JSON) in memory. The goal is judged against this one. A second instance
    // keeps live objects (`serialize: false`, like tiercache's L1), to show its best case too.
    const bento = new BentoCache({
      default: 'memory',
      stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) },
    })
    const bentoLive = new BentoCache({
      default: 'memory',
      stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize: false })) },
    })
    // cache-manager 7 with no store given: its default in-memory Keyv (a Map).
    const manager = createCacheManager({ ttl: TTL_MS })

    try {
      await tiercache.getOrSet(WARM_KEY, factory)
      await bare.getOrSet(WARM_KEY, factory)
      await observed.getOrSet(WARM_KEY, factory)
      await bento.getOrSet({ key: WARM_KEY, factory, ttl: TTL_MS })
      await bentoLive.getOrSet({ key: WARM_KEY, factory, ttl: TTL_MS })
      await manager.wrap(WARM_KEY, factory, TTL_MS)
      factoryCalls = 0

      const rows = await measure(
        [
          { name: 'floor: Map.get + await', fn: () => floor.get(WARM_KEY), batch: BATCH },
          { name: 'tiercache getOrSet', fn: () => tiercache.getOrSet(WARM_KEY, factory), batch: BATCH },
          { name: 'tiercache get', fn: () => tiercache.get(WARM_KEY), batch: BATCH },
          { name: 'tiercache getOrSet (metrics: false)', fn: () => bare.getOrSet(WARM_KEY, factory), batch: BATCH },
          { name: 'tiercache get (metrics: false)', fn: () => bare.get(WARM_KEY), batch: BATCH },
          { name: 'tiercache getOrSet (tier:hit listener)', fn: () => observed.getOrSet(WARM_KEY, factory), batch: BATCH },
          { name: 'bentocache getOrSet', fn: () => bento.getOrSet({ key: WARM_KEY, factory, ttl: TTL_MS }), batch: BATCH },
          {
            name: 'bentocache getOrSet (serialize: false)',
            fn: () => bentoLive.getOrSet({ key: WARM_KEY, factory, ttl: TTL_MS }),
            batch: BATCH,
          },
          { name: 'cache-manager wrap', fn: () => manager.wrap(WARM_KEY, factory, TTL_MS), batch: BATCH },
        ],
        timing,
      )
      if (factoryCalls > 0) throw new Error(`a factory ran ${factoryCalls} times on a warm key: the rows are not L1 hits`)
      if (hitsHeard === 0) throw new Error('the tier:hit listener heard nothing: the row does not measure it')
      return { rows, notes: [`p50/p99 are means of ${BATCH}-call batches.`, ratios(rows), instrumentsRatio(rows), listenerRatio(rows)] }
    } finally {
      await Promise.allSettled([tiercache.close(), bare.close(), observed.close(), bento.disconnectAll(), bentoLive.disconnectAll(), manager.disconnect()])
    }
  },
}

/**
 * The goals of the L1 hit path: ≥ 10× bentocache's ops/s, and within 3× of the floor's time. Judged
 * on the means (ops/s); the ratio of the p50s follows in brackets, as it shrugs off a busy machine.
 */
function ratios(rows) {
  const floor = figures(rows, 'floor: Map.get + await')
  const tier = figures(rows, 'tiercache getOrSet')
  const bento = figures(rows, 'bentocache getOrSet')
  const manager = figures(rows, 'cache-manager wrap')
  if (tier === undefined) return 'ratios: tiercache getOrSet has no figures'
  const parts = []
  if (bento !== undefined) {
    const r = bento.mean / tier.mean
    parts.push(`${formatRatio(r)} bentocache's ops/s (p50 ${formatRatio(bento.p50 / tier.p50)}; goal ≥ 10×: ${r >= 10 ? 'met' : 'NOT met'})`)
  }
  if (floor !== undefined) {
    const r = tier.mean / floor.mean
    parts.push(`${formatRatio(r)} the floor's time (p50 ${formatRatio(tier.p50 / floor.p50)}; goal ≤ 3×: ${r <= 3 ? 'met' : 'NOT met'})`)
  }
  if (manager !== undefined) parts.push(`${formatRatio(manager.mean / tier.mean)} cache-manager's ops/s`)
  return `ratios: tiercache getOrSet = ${parts.join('; ')}.`
}

/** What the instruments cost: the L1-hit getOrSet with them (the default) against without (`metrics: false`). */
function instrumentsRatio(rows) {
  const on = figures(rows, 'tiercache getOrSet')
  const off = figures(rows, 'tiercache getOrSet (metrics: false)')
  if (on === undefined || off === undefined) return ''
  return `instruments: getOrSet with them (the default) takes ${formatRatio(on.mean / off.mean)} the time of getOrSet with metrics: false (p50 ${formatRatio(on.p50 / off.p50)}).`
}

/** What a listener on every hit costs: the L1-hit getOrSet with one, against the floor and bentocache. */
function listenerRatio(rows) {
  const floor = figures(rows, 'floor: Map.get + await')
  const heard = figures(rows, 'tiercache getOrSet (tier:hit listener)')
  const bento = figures(rows, 'bentocache getOrSet')
  if (heard === undefined || floor === undefined || bento === undefined) return ''
  return `with a tier:hit listener: ${formatRatio(bento.mean / heard.mean)} bentocache's ops/s; ${formatRatio(heard.mean / floor.mean)} the floor's time.`
}
