/**
 * Sizing from one replay: the hit ratio of L1 at several sizes, and for several eviction policies,
 * from one pass over a trace. Every (size, policy) is a real memory tier (the L1 code the cache
 * runs), driven synchronously: a look-up per request, a store on a miss, as a cache in front of an
 * origin would. Unit-size entries, bounded by count: what a simulator's hit ratio means.
 */
import { InvalidOptionsError, InvalidTraceError } from '../../errors.js'
import type { Entry } from '../../core/entry.js'
import { type L1Eviction, MemoryTier } from '../../tiers/memory.js'
import { type Trace, openTrace } from './trace.js'
import type { WorkloadOptions } from './workload.js'

/** Options of {@link runSizing}. */
export interface SizingOptions {
  /** A trace file (plain or gzip, one key per line) or a workload spec such as `zipf:0.99:100000`. */
  readonly trace: string | Trace
  readonly workload?: WorkloadOptions
  /** L1 sizes, in entries: each a positive integer; at most 64 of them. */
  readonly sizes: readonly number[]
  /** The eviction policies to compare. @default ['tinylfu'] */
  readonly evictions?: readonly L1Eviction[]
  /** Replay at most this many requests. @default the whole trace */
  readonly limit?: number
  /** Told how far the replay has got (0..1) after each batch of requests. */
  readonly onProgress?: (fraction: number, requests: number) => void
  /** Stops the replay after the current batch; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

/** The hit ratio of one L1 size under one policy. */
export interface SizingPoint {
  /** L1 size, entries. */
  readonly entries: number
  readonly eviction: L1Eviction
  readonly hits: number
  /** hits / requests, 0..1. */
  readonly hitRatio: number
}

/** What {@link runSizing} measured. */
export interface SizingReport {
  readonly trace: string
  readonly requests: number
  /** By size, then policy, as asked. */
  readonly points: readonly SizingPoint[]
  /** Wall time of the pass, ms. */
  readonly elapsedMs: number
  /** Requests the L1s handled per second, all together: requests × L1s / the pass's time (every L1 sees every request). */
  readonly l1RequestsPerSecond: number
}

/** The most sizes × policies of one replay: each is an L1 in memory. */
export const MAX_SIZING_L1S = 64

const NAMESPACE = 'replay'

/** One L1 of the pass and its hits. */
interface Lane {
  readonly entries: number
  readonly eviction: L1Eviction
  readonly tier: MemoryTier
  hits: number
}

/**
 * Replays `options.trace` once through an L1 per size and policy (see the module's comment) and
 * reports each one's hit ratio.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for no size, a size that is not a positive
 *   integer, or more than {@link MAX_SIZING_L1S} L1s; InvalidTraceError (`TC_INVALID_TRACE`) for a
 *   trace that cannot be read, or has no request
 */
export async function runSizing(options: SizingOptions): Promise<SizingReport> {
  const sizes = [...new Set(options.sizes)]
  const evictions = [...new Set<L1Eviction>(options.evictions ?? ['tinylfu'])]
  if (sizes.length === 0 || sizes.some((size) => !Number.isSafeInteger(size) || size < 1)) throw new InvalidOptionsError('sizes must be positive integers (entries), at least one')
  if (evictions.length === 0) throw new InvalidOptionsError('name at least one eviction policy')
  if (sizes.length * evictions.length > MAX_SIZING_L1S) throw new InvalidOptionsError(`at most ${MAX_SIZING_L1S} sizes × policies in one replay, not ${sizes.length * evictions.length}`)
  const lanes: Lane[] = sizes.flatMap((entries) => evictions.map((eviction) => ({ entries, eviction, tier: new MemoryTier({ maxEntries: entries, maxBytes: Number.MAX_SAFE_INTEGER, eviction }), hits: 0 })))
  const trace = typeof options.trace === 'string' ? openTrace(options.trace, options.workload) : options.trace
  const limit = options.limit ?? Infinity
  const started = performance.now()
  let requests = 0
  for await (const batch of trace.batches()) {
    options.signal?.throwIfAborted()
    const count = Math.min(batch.length, limit - requests)
    for (const lane of lanes) lane.hits += replayBatch(lane.tier, batch, count)
    requests += count
    options.onProgress?.(trace.progress(), requests)
    if (requests >= limit) break
  }
  if (requests === 0) throw new InvalidTraceError(`trace ${trace.name} has no request`)
  const elapsedMs = performance.now() - started
  return {
    trace: trace.name,
    requests,
    points: lanes.map(({ entries, eviction, hits }) => ({ entries, eviction, hits, hitRatio: hits / requests })),
    elapsedMs,
    l1RequestsPerSecond: (requests * lanes.length) / Math.max(elapsedMs / 1000, 1e-9),
  }
}

/** The first `count` keys of `batch` through `tier`: a look-up each, a store on a miss. Resolves the hits. */
function replayBatch(tier: MemoryTier, batch: readonly string[], count: number): number {
  let hits = 0
  for (let i = 0; i < count; i++) {
    const key = batch[i] as string
    if (tier.peekKey(NAMESPACE, key, 0) !== undefined) hits++
    else tier.put(entryOf(key))
  }
  return hits
}

/** A unit-size entry that never expires. */
function entryOf(key: string): Entry {
  return { namespace: NAMESPACE, key, value: true, size: 1, createdAt: 0, freshUntil: Infinity, staleUntil: Infinity, tags: [] }
}
