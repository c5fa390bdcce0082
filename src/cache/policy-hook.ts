import type { ContextRole } from './scope.js'

// The policy layer (src/policy/) as the engine sees it. The engine sits below the policy layer, so it
// names only this interface; `createCache` hands it the layer built from the `policies` option.

/** What one call tells its policy besides the role: fields as the policy configuration names them (`freshness`, `volatility`, `market`, ...). */
export type CallContext = Readonly<Record<string, string | number | boolean | undefined>>

/**
 * Refresh before expiry: a fresh entry is refreshed in the background, once across processes, while
 * callers keep getting the current value. Either test (or both) may be set; a refresh starts when one
 * of them says so.
 */
export interface RefreshAhead {
  /** Refresh once this fraction of the ttl has passed, `0 < threshold < 1` (for example `0.8`). */
  readonly threshold?: number
  /**
   * Probabilistic early expiration (XFetch) with this β, `> 0`: a read at `now` refreshes when
   * `now - δ·β·ln(rand()) >= freshUntil`, δ being how long the value took to compute. `1` is the
   * paper's choice; larger refreshes earlier.
   * @see A. Vattani, F. Chierichetti, K. Lowenstein, "Optimal Probabilistic Cache Stampede
   *   Prevention", PVLDB 8(8), 2015
   */
  readonly beta?: number
}

/** One call's question to the policy layer. */
export interface PolicyRequest {
  /** The policy's name, as the call's `policy` option gives it. */
  readonly policy: string
  /** The role of the view that calls (`withContext`); undefined for a public view without one. */
  readonly role: ContextRole | undefined
  readonly context: CallContext | undefined
  /** The time of the call, epoch ms (seasons are decided by it). */
  readonly now: number
}

/** What the policy layer decides for one call. Durations in ms. */
export interface PolicyDecision {
  readonly ttlMs: number
  readonly graceMs: number
  readonly refresh?: RefreshAhead
}

/** What an event invalidates in the scope of the view that emits it. */
export interface EventTargets {
  readonly tags: readonly string[]
  /** Namespaces cleared whole. */
  readonly namespaces: readonly string[]
  /**
   * The namespaces where {@link tags} are removed. Undefined: every namespace for a public view; for
   * a tenant's or a user's view, whose scope the tiers cannot search across namespaces, the view's
   * own namespace.
   */
  readonly tagsIn?: readonly string[]
}

/** The policy layer, as `createCache` hands it to the engine. */
export interface PolicyHook {
  /**
   * The ttl, grace and refresh of one call naming a policy.
   * @throws UnknownPolicyError (`TC_UNKNOWN_POLICY`) for a policy the configuration does not declare;
   *   InvalidContextError (`TC_INVALID_CONTEXT`) for a context value the configuration does not know
   */
  decide(request: PolicyRequest): PolicyDecision
  /** The multiplier of L1's bounds in force at `now` (seasonal capacity); `1` outside every window. */
  l1Scale(now: number): number
  /** The first instant after `now` at which {@link l1Scale} may change (a window's start or end), epoch ms; undefined when none. */
  nextBoundary(now: number): number | undefined
  /**
   * The tags and namespaces that `event` with `params` invalidates.
   * @throws UnknownEventError (`TC_UNKNOWN_EVENT`) for an event no rule declares; InvalidOptionsError
   *   (`TC_INVALID_OPTIONS`) for a parameter a rule needs that `params` lacks
   */
  targets(event: string, params: Readonly<Record<string, string | number>>): EventTargets
}
