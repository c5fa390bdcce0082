import type { Served } from '../core/entry.js'
import { assertKey } from '../core/validate.js'
import { InvalidOptionsError } from '../errors.js'
import { GET_OR_SET_OPTIONS, callPolicy, checkOptions } from './call-policy.js'
import type { CacheCore } from './cache-core.js'
import type { Factory } from './factory.js'
import { GET_OR_SET, type NamespaceSeries, bump } from './instruments/series.js'
import { assertFields, project } from './projection.js'
import type { Scope } from './scope.js'
import type { GetOrSetOptions } from './types.js'

/**
 * `getOrSet` past the L1 fast path, for a view on storage namespace `stored` in `scope`: checks the
 * call, resolves its policy, wraps the factory to project public fields for an anonymous caller, and
 * runs the read-through, counted as a request in `series`.
 * @throws the errors of `Cache.getOrSet` for bad input
 */
export async function readThroughServed<V>(
  core: CacheCore,
  stored: string,
  scope: Scope,
  key: string,
  factory: Factory<V>,
  options: GetOrSetOptions<V> | undefined,
  series: NamespaceSeries,
): Promise<Served<V>> {
  assertKey(key, core.options.limits.maxKeyLength)
  if (typeof factory !== 'function') throw new InvalidOptionsError(`getOrSet needs a factory function, got ${factory === null ? 'null' : typeof factory}`)
  checkOptions(options, GET_OR_SET_OPTIONS)
  const policy = callPolicy(options, core.options, scope, core.policy)
  const fields = options?.publicFields
  if (fields !== undefined && scope.role === 'anon') {
    assertFields(fields) // before the factory runs
    const full = factory
    factory = async (ctx) => {
      const value = await full(ctx)
      return (value === undefined ? undefined : project(value, fields)) as V
    }
  }
  bump(series.requests, GET_OR_SET)
  const served = await core.readThrough.run(stored, key, factory, policy, series)
  // A fresh hit below L1 (or a shared answer) may be due for a refresh ahead of expiry too.
  if (policy.refresh !== undefined && !served.stale && served.source !== 'origin' && served.source !== 'fallback' && options !== undefined) {
    const now = Date.now()
    core.refreshes.onHit(stored, scope, key, { createdAt: now - served.ageMs, freshUntil: served.freshUntil, value: served.value }, factory, options, series, now)
  }
  return served
}
