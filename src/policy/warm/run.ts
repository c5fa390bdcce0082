import type { Cache } from '../../cache/cache.js'
import type { SetOptions } from '../../cache/types.js'
import { isTiercacheError } from '../../errors.js'
import type { WarmSource } from './schema.js'
import { type FetchLike, loadFromSource } from './source.js'

// The runner: loads a plan's keys from their sources into every tier of the cache, at most
// `concurrency` at a time. It never rejects: each key's failure goes into the report.

/** One key of a plan. */
export interface WarmTask {
  readonly key: string
  readonly source: WarmSource
  /** Tags of this key, besides the plan's. */
  readonly tags?: readonly string[]
}

/** What a run does: which keys, from where, written how. */
export interface WarmPlan {
  /** The job's name, for reports and sources. */
  readonly job: string
  /** The view the keys are written in (its namespace and scope). */
  readonly cache: Cache
  readonly tasks: readonly WarmTask[]
  /** Most sources running at once, ≥ 1. */
  readonly concurrency: number
  /** How long one key's source may take, ms. */
  readonly timeoutMs: number
  /** `reload`: every key from its source, then `cache.set`; `missing`: `cache.getOrSet`, which calls the source only without a fresh value. */
  readonly mode: 'reload' | 'missing'
  /** How the keys are written: `policy`, `context`, `ttl`, `grace`, `tags`. */
  readonly write: SetOptions
}

/** How far a run is. `done = loaded + failed`; `total` counts every key of the plan. */
export interface WarmProgress {
  readonly done: number
  readonly total: number
  readonly loaded: number
  readonly failed: number
}

/** One key that could not be warmed. */
export interface WarmFailure {
  readonly key: string
  /** The error's stable code: `TC_FACTORY_ERROR` (the source failed), `TC_FACTORY_TIMEOUT`, `TC_VALUE_TOO_LARGE`, ... */
  readonly code: string
  readonly message: string
}

/** What a run did. Times in epoch ms and ms. */
export interface WarmReport {
  readonly job: string
  /** The namespace written, as the view names it. */
  readonly namespace: string
  readonly total: number
  readonly loaded: number
  readonly failed: number
  /** Keys not attempted because the run was stopped. */
  readonly skipped: number
  /** The first {@link MAX_REPORTED_FAILURES} failures, in the order they happened. */
  readonly failures: readonly WarmFailure[]
  readonly startedAt: number
  readonly durationMs: number
  /** True when the run was stopped (its signal aborted, or its warmer closed) before it ended: sources cut short fail, keys not started are skipped. */
  readonly stopped: boolean
}

/** Most failures a report lists one by one (`failed` counts them all). */
export const MAX_REPORTED_FAILURES = 1_000

/** Options of {@link runWarm}. */
export interface RunWarmOptions {
  /** Called after each key, loaded or failed; a listener that throws is ignored. */
  readonly onProgress?: (progress: WarmProgress) => void
  /** Stops the run: sources running are aborted, keys not started are skipped. */
  readonly signal?: AbortSignal
  /** The `fetch` of URL sources. @default globalThis.fetch */
  readonly fetch?: FetchLike
}

/** The code and message of a key's failure. */
function failureOf(key: string, error: unknown): WarmFailure {
  if (isTiercacheError(error)) return { key, code: error.code, message: error.message }
  return { key, code: 'TC_INTERNAL', message: error instanceof Error ? error.message : String(error) }
}

/**
 * Runs `plan`: loads every key from its source and writes it to every tier of `plan.cache` (L1, and
 * L2 and L3 when the cache has them) with the plan's policy, context, ttl, grace and tags, at most
 * `plan.concurrency` sources at a time. Resolves with the report once every key is loaded, failed or
 * skipped; never rejects.
 */
export async function runWarm(plan: WarmPlan, options: RunWarmOptions = {}): Promise<WarmReport> {
  const startedAt = Date.now()
  const started = performance.now()
  const stop = options.signal ?? new AbortController().signal
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init))
  const total = plan.tasks.length
  const failures: WarmFailure[] = []
  let loaded = 0
  let failed = 0
  let next = 0

  const progress = () => {
    try {
      options.onProgress?.({ done: loaded + failed, total, loaded, failed })
    } catch {
      // A progress listener's fault is not the run's.
    }
  }

  const warmOne = async (task: WarmTask): Promise<void> => {
    const tags = task.tags === undefined ? plan.write.tags : [...(plan.write.tags ?? []), ...task.tags]
    const write: SetOptions = { ...plan.write, ...(tags === undefined ? {} : { tags }) }
    const context = { key: task.key, namespace: plan.cache.name, job: plan.job }
    const load = () => loadFromSource(task.source, context, plan.timeoutMs, stop, fetchImpl)
    if (plan.mode === 'missing') {
      // refresh: false: a warm run writes once, it starts no background refreshes of its own.
      await plan.cache.getOrSet(task.key, load, { ...write, refresh: false })
    } else {
      await plan.cache.set(task.key, await load(), write)
    }
  }

  const worker = async (): Promise<void> => {
    while (!stop.aborted && next < total) {
      const task = plan.tasks[next++]
      if (task === undefined) break
      try {
        await warmOne(task)
        loaded++
      } catch (error) {
        failed++
        if (failures.length < MAX_REPORTED_FAILURES) failures.push(failureOf(task.key, isFactoryWrapper(error) ? error.cause : error))
      }
      progress()
    }
  }

  const workers = Math.max(1, Math.min(plan.concurrency, total))
  await Promise.all(Array.from({ length: workers }, worker))
  const skipped = total - loaded - failed
  return {
    job: plan.job,
    namespace: plan.cache.name,
    total,
    loaded,
    failed,
    skipped,
    failures,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    stopped: stop.aborted,
  }
}

/**
 * getOrSet wraps what its factory threw in a FactoryError; the source's own coded error (a timeout,
 * an HTTP status) says more.
 */
function isFactoryWrapper(error: unknown): error is { cause: unknown } {
  return isTiercacheError(error, 'TC_FACTORY_ERROR') && isTiercacheError(error.cause)
}
