import { type Duration, positiveTtl, toMs } from '../core/duration.js'
import type { EntryPolicy } from '../core/entry.js'
import { normalizeTags } from '../core/validate.js'
import { InvalidOptionsError } from '../errors.js'
import type { ResolvedCacheOptions } from './options.js'
import type { Scope } from './scope.js'
import type { GetOrSetOptions } from './types.js'

/** How one call stores its value and waits for its factory. Durations in ms. */
export interface CallPolicy extends EntryPolicy {
  readonly timeoutMs: number | undefined
  readonly hardTimeoutMs: number | undefined
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
export const SET_OPTIONS = known('set', ['ttl', 'grace', 'tags'])
/** The options of `getOrSet` (`GetOrSetOptions`). */
export const GET_OR_SET_OPTIONS = known('getOrSet', ['ttl', 'grace', 'tags', 'publicFields', 'timeout', 'hardTimeout'])
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
 * then grace). Options have been checked with {@link checkOptions}.
 * @throws InvalidDurationError, InvalidTagError for bad values
 */
export function callPolicy(options: GetOrSetOptions | undefined, defaults: ResolvedCacheOptions, scope: Scope): CallPolicy {
  const role = scope.role
  const factor = role === undefined ? 1 : defaults.security.ttlMultiplier[role]
  const retentionMs = defaults.security.retentionMs[scope.level]
  if (options === undefined && factor === 1 && retentionMs === undefined) {
    return { ttlMs: defaults.ttlMs, graceMs: defaults.graceMs, tags: [], timeoutMs: defaults.timeoutMs, hardTimeoutMs: defaults.hardTimeoutMs }
  }
  let ttlMs = Math.max(1, Math.round(factor * (options?.ttl === undefined ? defaults.ttlMs : positiveTtl(options.ttl))))
  let graceMs = Math.round(factor * (options?.grace === undefined ? defaults.graceMs : toMs(options.grace, 'grace')))
  if (retentionMs !== undefined) {
    ttlMs = Math.min(ttlMs, retentionMs)
    graceMs = Math.min(graceMs, retentionMs - ttlMs)
  }
  return {
    ttlMs,
    graceMs,
    tags: normalizeTags(options?.tags, defaults.limits),
    timeoutMs: msOr(options?.timeout, defaults.timeoutMs, 'timeout'),
    hardTimeoutMs: msOr(options?.hardTimeout, defaults.hardTimeoutMs, 'hardTimeout'),
  }
}

function msOr(duration: Duration | undefined, fallback: number | undefined, name: string): number | undefined {
  return duration === undefined ? fallback : toMs(duration, name)
}
