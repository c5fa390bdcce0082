import { performance } from 'node:perf_hooks'
import { z } from 'zod'
import { type Cache, InvalidOptionsError, InvalidTraceError } from '../../index.js'
import { type ReplayL3, describeL3, withReplayCache } from './cache.js'
import { LatencyRecorder } from './latency.js'
import { type ReplayReport, type ReplaySetup, buildReport } from './report.js'
import { type Trace, openTrace } from './trace.js'
import { type WorkloadOptions, isWorkloadSpec, resolveWorkloadOptions } from './workload.js'

export type { ReplayL3 } from './cache.js'
export { describeL3 } from './cache.js'

/** Progress of a running replay, for a progress bar. */
export interface ReplayProgress {
  /** Requests answered so far. */
  readonly requests: number
  /** Estimated fraction done, 0..1 (from the bytes of the trace read, or from `limit`). */
  readonly fraction: number
}

/** Options of {@link runReplay}. */
export interface ReplayOptions {
  /** A trace file or workload spec (see {@link openTrace}), or an opened {@link Trace}. */
  readonly trace: string | Trace
  /** Request count and seed when `trace` is a workload spec. */
  readonly workload?: WorkloadOptions
  /**
   * The L1's bounds, or false for none. @default `{ maxEntries: 10_000, maxBytes: 64 MiB }`, the
   * library's defaults, so that a replay without flags shows what `createCache()` gives
   */
  readonly l1?: { readonly maxEntries: number; readonly maxBytes?: number } | false
  /** @default 'temporary' */
  readonly l3?: ReplayL3
  /** Delay of each origin (factory) call, ms; 0 answers at once, without a timer. @default 1 */
  readonly originLatencyMs?: number
  /**
   * Requests in flight at once: that many workers each take the next request in trace order and
   * wait for its answer. With an origin latency, one worker would need requests × latency (15 min
   * for the 914k-request OLTP trace at 1 ms); 32 cut that 32-fold.
   *
   * The cost is fidelity to a sequential LRU. Lookups are still made in trace order, but a missed key
   * enters L1 only when its answer arrives, after requests issued later, and a request for a key whose
   * origin call is in flight joins it (counted as `coalesced`, not as a hit). Use 1 for figures
   * comparable to a cache simulator's.
   * @default 32
   */
  readonly concurrency?: number
  /** Stop after this many requests. @default the whole trace */
  readonly limit?: number
  /** Size of the value the origin returns (a string of that many characters), bytes. @default 100 */
  readonly valueBytes?: number
  /** Called about every `progressIntervalMs` while the replay runs, and once at the end. */
  readonly onProgress?: (progress: ReplayProgress) => void
  /** @default 200 */
  readonly progressIntervalMs?: number
  /** Stops the replay: requests in flight finish, then runReplay rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

/** Default L1 size of a replay: the library's default. */
export const DEFAULT_REPLAY_L1 = { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 } as const
/** Default number of requests in flight. */
export const DEFAULT_REPLAY_CONCURRENCY = 32

const positiveInt = z.number().int().positive()
const optionsSchema = z.object({
  l1: z.union([z.literal(false), z.object({ maxEntries: positiveInt, maxBytes: positiveInt.default(DEFAULT_REPLAY_L1.maxBytes) })]).default(DEFAULT_REPLAY_L1),
  originLatencyMs: z.number().min(0).max(60_000).default(1),
  concurrency: positiveInt.max(100_000).default(DEFAULT_REPLAY_CONCURRENCY),
  limit: positiveInt.optional(),
  // Below the cache's default 1 MiB limit on encoded values, leaving room for msgpack's header.
  valueBytes: z.number().int().min(0).max(1_000_000).default(100),
  progressIntervalMs: z.number().min(0).default(200),
})

/**
 * Replays an access trace through a cache in front of a simulated origin and reports hit ratios,
 * origin calls and latencies. Each request is `cache.getOrSet(key, origin)`, where the origin waits
 * `originLatencyMs` and returns a `valueBytes`-character string.
 *
 * The cache is `createCache` with the given L1 and L3, a ttl long enough that nothing expires, and
 * its own namespace; on a caller's L3 the namespace is unique to the run and cleared at the end, so
 * that entries already there cannot count as hits, and none are left behind. The L3 is opened before
 * the clock starts.
 *
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for invalid options
 * @throws InvalidTraceError (`TC_INVALID_TRACE`) when the trace cannot be read or is empty; a file
 *   is checked before the cache is created
 * @throws TierUnavailableError (`TC_TIER_UNAVAILABLE`) when the L3 cannot be opened
 */
export async function runReplay(options: ReplayOptions): Promise<ReplayReport> {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) throw new InvalidOptionsError(`invalid replay options: ${z.prettifyError(parsed.error)}`)
  const settings = parsed.data
  const l3 = options.l3 ?? 'temporary'
  const trace = typeof options.trace === 'string' ? openTrace(options.trace, options.workload) : options.trace
  const keys = trace[Symbol.asyncIterator]()
  try {
    // Read the first key before opening anything: a bad trace fails fast and leaves nothing behind.
    const first = await keys.next()
    if (first.done === true) throw new InvalidTraceError(`trace ${trace.name} has no requests`)
    const setup: ReplaySetup = {
      l1: settings.l1,
      l3: describeL3(l3),
      concurrency: settings.concurrency,
      originLatencyMs: settings.originLatencyMs,
      valueBytes: settings.valueBytes,
      limit: settings.limit ?? null,
      workload: isWorkloadSpec(trace.name) ? resolveWorkloadOptions(options.workload) : null,
    }
    return await withReplayCache(settings.l1, l3, async (cache) => {
      const pull = pullInOrder(first, keys, settings.limit, options.signal)
      const run = await replay(cache, pull, trace, settings, options.onProgress)
      options.signal?.throwIfAborted()
      return buildReport(await cache.stats(), { trace: trace.name, setup, ...run })
    })
  } finally {
    await keys.return?.()
  }
}

/** A function handing out the trace's keys in order, undefined at the end, the limit or an abort. */
type Pull = () => Promise<string | undefined>

function pullInOrder(
  first: IteratorResult<string, unknown>,
  keys: AsyncIterator<string>,
  limit: number | undefined,
  signal: AbortSignal | undefined,
): Pull {
  let pending: IteratorResult<string, unknown> | undefined = first
  let issued = 0
  let ended = false
  return async () => {
    if (ended || signal?.aborted === true || (limit !== undefined && issued >= limit)) return undefined
    issued++
    let next: IteratorResult<string, unknown>
    if (pending === undefined) {
      // Concurrent calls are queued by the async iterator and answered in order.
      next = await keys.next()
    } else {
      next = pending
      pending = undefined
    }
    if (next.done === true) {
      ended = true
      return undefined
    }
    return next.value
  }
}

interface RunFigures {
  readonly uniqueKeys: number
  readonly latency: ReturnType<LatencyRecorder['summary']>
  readonly elapsedMs: number
}

/** Runs `concurrency` workers over the trace; resolves once all have stopped. */
async function replay(
  cache: Cache,
  pull: Pull,
  trace: Trace,
  settings: z.output<typeof optionsSchema>,
  onProgress: ReplayOptions['onProgress'],
): Promise<RunFigures> {
  const value = 'x'.repeat(settings.valueBytes)
  const latencyMs = settings.originLatencyMs
  const origin =
    latencyMs > 0 ? () => new Promise<string>((resolve) => setTimeout(resolve, latencyMs, value)) : () => value
  const seen = new Set<string>()
  const latencies = new LatencyRecorder()
  const progress = () => {
    const requests = latencies.count
    const byLimit = settings.limit === undefined ? 0 : requests / settings.limit
    return { requests, fraction: Math.min(1, Math.max(trace.progress(), byLimit)) }
  }
  let lastProgress = performance.now()
  let failure: { error: unknown } | undefined

  const worker = async () => {
    for (;;) {
      const key = failure === undefined ? await pull() : undefined
      if (key === undefined) return
      seen.add(key)
      const started = performance.now()
      await cache.getOrSet(key, origin)
      const now = performance.now()
      latencies.record(now - started)
      if (onProgress !== undefined && now - lastProgress >= settings.progressIntervalMs) {
        lastProgress = now
        onProgress(progress())
      }
    }
  }

  const started = performance.now()
  await Promise.all(
    Array.from({ length: settings.concurrency }, () =>
      worker().catch((error: unknown) => {
        failure ??= { error }
      }),
    ),
  )
  const elapsedMs = performance.now() - started
  if (failure !== undefined) throw failure.error
  onProgress?.({ requests: latencies.count, fraction: 1 })
  return { uniqueKeys: seen.size, latency: latencies.summary(), elapsedMs }
}
