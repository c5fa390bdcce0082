import { type Duration, positiveTtl, toMs } from '../core/duration.js'
import type { EntryPolicy } from '../core/entry.js'
import { normalizeTags } from '../core/validate.js'
import { InvalidOptionsError, UnknownPolicyError } from '../errors.js'
import type { ResolvedCacheOptions } from './options.js'
import type { PolicyHook, RefreshAhead } from './policy-hook.js'
import type { Scope } from './scope.js'
import type { GetOrSetOptions } from './types.js'

/** How one call stores its value and waits for its factory. Durations in ms. */
export interface CallPolicy extends EntryPolicy {
  readonly timeoutMs: number | undefined
  readonly hardTimeoutMs: number | undefined
  /** Refresh before expiry, when the call or its policy asks for it. */
  readonly refresh?: RefreshAhead
  /** The value to answer when the factory fails and nothing stale exists (not cached). */
  readonly fallback?: (error: unknown) => unknown
}

/** The per-call options of one method: their names, and the option objects already checked. */
export interface KnownOptions {
  readonly method: string
  readonly names: ReadonlySet<string>
  /** Objects checked before: a caller that passes the same object again pays one lookup. */
  readonly checked: WeakSet<object>
}

function known(method: string, names: readonly string[]): KnownOptions {
  return { method, names: new Set(names), checked: new WeakSet() }
}

/** The options of `set` (`SetOptions`). */
export const SET_OPTIONS = known('set', ['ttl', 'grace', 'tags', 'policy', 'context'])
/** The options of `getOrSet` (`GetOrSetOptions`). */
export const GET_OR_SET_OPTIONS = known('getOrSet', ['ttl', 'grace', 'tags', 'policy', 'context', 'publicFields', 'timeout', 'hardTimeout', 'refresh', 'fallback'])
/** The options of `get` and `getMany` (`GetOptions`). */
export const GET_OPTIONS = known('get', ['allowStale'])

/**
 * Refuses per-call options with a name the method does not know (`{ ttll: '5m' }`), as construction
 * refuses misspelt cache options. Only own enumerable keys are looked at, with no schema: this runs on
 * every call that passes options. An object is remembered once it passed, so options defined once and
 * reused cost a WeakSet lookup (an object changed after its first use is not checked again).
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) naming the unknown options
 */
export function checkOptions(options: object | undefined, kind: KnownOptions): void {
  if (options === undefined || kind.checked.has(options)) return
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError(`${kind.method} options must be an object`)
  const unknown = Object.keys(options).filter((name) => !kind.names.has(name))
  if (unknown.length > 0) {
    throw new InvalidOptionsError(`unknown ${kind.method} option${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')}; known: ${[...kind.names].join(', ')}`)
  }
  kind.checked.add(options)
}

/**
 * True when `options` names only options of `kind`: the test of the L1-hit fast path, which
 * allocates nothing. On false, the caller takes the slow path, where {@link checkOptions} throws.
 */
export function knownOptions(options: object, kind: KnownOptions): boolean {
  if (kind.checked.has(options)) return true
  if (typeof options !== 'object' || options === null) return false
  for (const name in options) if (!kind.names.has(name) && Object.hasOwn(options, name)) return false
  return true
}

/**
 * The policy of one call: its options over the cache's defaults, ttl and grace multiplied by the
 * scope role's `security.ttlMultiplier` and cut to the scope's `security.retention` (ttl first,
 * then grace). With a named `policy`, the policy layer (`hook`) decides ttl, grace and refresh in
 * place of the defaults and the multiplier; explicit `ttl`, `grace` and `refresh` still win.
 * Options have been checked with {@link checkOptions}.
 * @throws InvalidDurationError, InvalidTagError for bad values; UnknownPolicyError (and the hook's
 *   InvalidContextError) for a policy the layer does not declare or a context it does not know
 */
export function callPolicy(options: GetOrSetOptions | undefined, defaults: ResolvedCacheOptions, scope: Scope, hook?: PolicyHook, now = Date.now()): CallPolicy {
  const role = scope.role
  const retentionMs = defaults.security.retentionMs[scope.level]
  const named = options?.policy === undefined ? undefined : decide(hook, options.policy, scope, options, now)
  const factor = role === undefined || named !== undefined ? 1 : defaults.security.ttlMultiplier[role]
  if (options === undefined && factor === 1 && retentionMs === undefined) {
    return { ttlMs: defaults.ttlMs, graceMs: defaults.graceMs, tags: [], timeoutMs: defaults.timeoutMs, hardTimeoutMs: defaults.hardTimeoutMs }
  }
  const baseTtlMs = named?.ttlMs ?? defaults.ttlMs
  const baseGraceMs = named?.graceMs ?? defaults.graceMs
  let ttlMs = Math.max(1, Math.round(factor * (options?.ttl === undefined ? baseTtlMs : positiveTtl(options.ttl))))
  let graceMs = Math.round(factor * (options?.grace === undefined ? baseGraceMs : toMs(options.grace, 'grace')))
  if (retentionMs !== undefined) {
    ttlMs = Math.min(ttlMs, retentionMs)
    graceMs = Math.min(graceMs, retentionMs - ttlMs)
  }
  const refresh = options?.refresh === false ? undefined : (options?.refresh ?? named?.refresh)
  return {
    ttlMs,
    graceMs,
    tags: normalizeTags(options?.tags, defaults.limits),
    timeoutMs: msOr(options?.timeout, defaults.timeoutMs, 'timeout'),
    hardTimeoutMs: msOr(options?.hardTimeout, defaults.hardTimeoutMs, 'hardTimeout'),
    ...(refresh === undefined ? {} : { refresh: checkRefresh(refresh) }),
    ...(options?.fallback === undefined ? {} : { fallback: checkFallback(options.fallback) }),
  }
}

function decide(hook: PolicyHook | undefined, policy: string, scope: Scope, options: GetOrSetOptions, now: number) {
  if (hook === undefined) throw new UnknownPolicyError(`no policy named "${policy}": this cache has no policy layer (createCache({ policies }))`)
  if (typeof policy !== 'string') throw new InvalidOptionsError('policy must be the name of a policy')
  const context = options.context
  if (context !== undefined && (typeof context !== 'object' || context === null || Array.isArray(context))) {
    throw new InvalidOptionsError('context must be an object of field values')
  }
  return hook.decide({ policy, role: scope.role, context, now })
}

/** @throws InvalidOptionsError unless `refresh` is `{ threshold?: 0 < t < 1, beta?: > 0 }` with one of them */
export function checkRefresh(refresh: RefreshAhead): RefreshAhead {
  if (typeof refresh !== 'object' || refresh === null) throw new InvalidOptionsError('refresh must be { threshold?, beta? } or false')
  const { threshold, beta } = refresh
  if (threshold === undefined && beta === undefined) throw new InvalidOptionsError('refresh needs a threshold or a beta')
  if (threshold !== undefined && !(typeof threshold === 'number' && threshold > 0 && threshold < 1)) {
    throw new InvalidOptionsError('refresh.threshold must be a number between 0 and 1 (exclusive)')
  }
  if (beta !== undefined && !(typeof beta === 'number' && beta > 0 && Number.isFinite(beta))) throw new InvalidOptionsError('refresh.beta must be a positive number')
  return refresh
}

function checkFallback(fallback: unknown): (error: unknown) => unknown {
  if (typeof fallback !== 'function') throw new InvalidOptionsError('fallback must be a function')
  return fallback as (error: unknown) => unknown
}
function msOr(duration: Duration | undefined, fallback: number | undefined, name: string): number | undefined {
  return duration === undefined ? fallback : toMs(duration, name)
}
