import type { Level } from '../../core/level.js'
import type { CacheCore } from '../cache-core.js'
import { buildSnapshot } from './families.js'
import type { NamespaceSeries } from './series.js'
import type { MetricsSnapshot } from './snapshot.js'

/**
 * The instruments of `core` with the stack's gauges: L1 read now, the shared tiers' counts reused
 * for up to 10 s (see usage.ts). Instruments off: no families.
 */
export async function metricsOf(core: CacheCore): Promise<MetricsSnapshot> {
  const { instruments, stack, options } = core
  if (!instruments.on) return { at: Date.now(), families: [] }
  const usage = await core.usage.get()
  const l1 = stack.l1
  const levels: Level[] = stack.shared.map(({ level }) => level)
  if (l1 !== undefined) levels.unshift('l1')
  return buildSnapshot(instruments, {
    levels,
    l1: l1 === undefined || options.l1 === false ? undefined : { entries: l1.size, bytes: l1.bytes, maxEntries: options.l1.maxEntries, maxBytes: options.l1.maxBytes },
    shared: stack.shared.map(({ level, breaker }) => ({ level, circuit: breaker.state, usage: usage.get(level) })),
    bus: stack.busState,
  })
}

/**
 * `answer`, observed in the getOrSet histogram of `series` from `started` (performance.now(), read
 * before the call began) until it settles.
 */
export function timedAnswer<T>(series: NamespaceSeries, started: number, answer: Promise<T>): Promise<T> {
  return answer.finally(() => series.getOrSetDuration.observe((performance.now() - started) / 1000))
}
