import type { Cache } from '../../cache/cache.js'
import type { SetOptions } from '../../cache/types.js'
import { InvalidOptionsError } from '../../errors.js'
import type { HotKeySource } from './hot-keys.js'
import type { WarmPlan, WarmTask } from './run.js'
import type { WarmJob } from './schema.js'

/** What a run of a job loads besides the job's own list. */
export interface PlanOptions {
  /**
   * Load these keys instead of the job's list and hot keys: each through its listed source, else the
   * job's `source`.
   */
  readonly keys?: readonly string[]
  /** Where the job's `hot` option finds the busiest keys. Without it, `hot` adds none. */
  readonly hotKeys?: HotKeySource
}

/** A glob of `*` (any characters, none included) as a regular expression matching the whole key. */
export function globPattern(glob: string): RegExp {
  const escaped = glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${escaped.join('[\\s\\S]*')}$`)
}

/** How a job's keys are written: the fields of `cache.set` its configuration gives. */
function writeOptions(job: WarmJob): SetOptions {
  return {
    ...(job.policy === undefined ? {} : { policy: job.policy }),
    ...(job.context === undefined ? {} : { context: job.context }),
    ...(job.ttl === undefined ? {} : { ttl: job.ttl }),
    ...(job.grace === undefined ? {} : { grace: job.grace }),
    ...(job.tags === undefined ? {} : { tags: job.tags }),
  }
}

/**
 * The plan of one run of job `name` in `cache` (its `namespace` view when the job names one): the
 * job's keys, then its hot keys not already listed (through the job's source), or only `keys`.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when `keys` holds a key with no source (the job
 *   lists it without one and has no `source`), or is empty
 * @throws InvalidNamespaceError for a namespace the view refuses
 */
export function planJob(name: string, job: WarmJob, cache: Cache, options: PlanOptions = {}): WarmPlan {
  const view = job.namespace === undefined ? cache : cache.namespace(job.namespace)
  const listed = new Map(job.keys.map((entry) => [entry.key, entry]))
  let tasks: WarmTask[]
  if (options.keys !== undefined) {
    if (options.keys.length === 0) throw new InvalidOptionsError('keys: give at least one key, or none to run the whole job')
    tasks = [...new Set(options.keys)].map((key) => {
      const entry = listed.get(key)
      const source = entry?.source ?? job.source
      if (source === undefined) throw new InvalidOptionsError(`job ${name} has no source for key ${JSON.stringify(key.slice(0, 80))}: give the job a source (a URL with {key}, or a function)`)
      return { key, source, ...(entry?.tags === undefined ? {} : { tags: entry.tags }) }
    })
  } else {
    tasks = job.keys.map((entry) => {
      // The schema refused a key without a source of its own or the job's.
      const source = entry.source ?? job.source
      if (source === undefined) throw new InvalidOptionsError(`job ${name}: key ${entry.key} has no source`)
      return { key: entry.key, source, ...(entry.tags === undefined ? {} : { tags: entry.tags }) }
    })
    if (job.hot !== undefined && job.source !== undefined && options.hotKeys !== undefined) {
      const match = job.hot.match === undefined ? undefined : globPattern(job.hot.match)
      const source = job.source
      const hot = options.hotKeys
        .hotKeys(view, Number.MAX_SAFE_INTEGER)
        .filter((key) => !listed.has(key) && (match === undefined || match.test(key)))
        .slice(0, job.hot.top)
      for (const key of hot) tasks.push({ key, source })
    }
  }
  return { job: name, cache: view, tasks, concurrency: job.concurrency, timeoutMs: job.timeout, mode: job.mode, write: writeOptions(job) }
}
