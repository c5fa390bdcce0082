// CPU time per L1-hit call, instruments on (the default) and off, against the floor of the `l1` suite.
//
//   npm run build && node bench/l1-cpu.js [--rounds 30] [--calls 200000]
//
// On a shared machine, wall-clock figures move with the neighbours' load; the CPU time this process
// spends per call moves much less. Each variant runs `calls` awaited calls per round, the variants
// take turns, and the best (least) CPU time per call of all rounds is kept for each.
import { parseArgs } from 'node:util'
import { createCache } from '../dist/index.js'
import { VALUE, WARM_KEY } from './lib/fixtures.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' }, calls: { type: 'string', default: '200000' } } })
const rounds = Number(values.rounds)
const calls = Number(values.calls)
const TTL_MS = 60 * 60_000
const factory = () => VALUE

const floor = new Map([[WARM_KEY, VALUE]])
const on = createCache({ namespace: 'bench', ttl: TTL_MS, l3: false })
const off = createCache({ namespace: 'bench', ttl: TTL_MS, l3: false, metrics: false })
// A call naming a ttl policy that refreshes ahead: what a hit pays for the policy layer.
const withPolicy = createCache({ namespace: 'bench', l3: false, policies: { policies: { hot: { ttl: TTL_MS, refresh: { threshold: 0.9 } } } } })
const POLICY = { policy: 'hot' }
for (const cache of [on, off]) await cache.getOrSet(WARM_KEY, factory)
await withPolicy.getOrSet(WARM_KEY, factory, POLICY)

const variants = {
  'floor: Map.get + await': () => floor.get(WARM_KEY),
  'tiercache getOrSet': () => on.getOrSet(WARM_KEY, factory),
  'tiercache getOrSet (metrics: false)': () => off.getOrSet(WARM_KEY, factory),
  "tiercache getOrSet { policy } (refresh ahead)": () => withPolicy.getOrSet(WARM_KEY, factory, POLICY),
  'tiercache get': () => on.get(WARM_KEY),
  'tiercache get (metrics: false)': () => off.get(WARM_KEY),
}
const best = new Map(Object.keys(variants).map((name) => [name, Infinity]))
for (let round = 0; round < rounds; round++) {
  for (const [name, fn] of Object.entries(variants)) {
    const start = process.cpuUsage()
    for (let i = 0; i < calls; i++) await fn()
    const used = process.cpuUsage(start)
    best.set(name, Math.min(best.get(name), ((used.user + used.system) * 1000) / calls))
  }
}
const floorNs = best.get('floor: Map.get + await')
console.log('| task | CPU per call | × floor |\n|---|--:|--:|')
for (const [name, ns] of best) console.log(`| ${name} | ${ns.toFixed(1)} ns | ${(ns / floorNs).toFixed(2)}× |`)
await Promise.all([on.close(), off.close(), withPolicy.close()])
