import type { PolicyRequest } from '../../../src/cache/policy-hook.js'
import { type PolicyConfigInput, parsePolicyConfig } from '../../../src/policy/config.js'
import { TtlPolicies, type TtlPoliciesOptions } from '../../../src/policy/ttl/policies.js'

/** The brief's example configuration: a peak season, every multiplier table, three policies. */
export const EXAMPLE = {
  version: 1,
  seasons: {
    peak: { windows: [{ from: '04-01', to: '10-31' }], ttl: 0.5, l1: 3 },
  },
  multipliers: {
    role: { anon: 1.5, authenticated: 1, service: 0.5 },
    freshness: { realtime: { cap: '1m' }, eventual: { factor: 2 } },
    volatility: { low: 2, medium: 1, high: 0.25 },
    marketTier: { major: 1, regional: 1.5, rural: 2 },
  },
  policies: {
    countries: { ttl: '24h', grace: '7d' },
    flightStatus: { ttl: '1m', grace: '5m', floor: '10s', ceiling: '2m', jitter: 0.1, refresh: { threshold: 0.8, beta: 1 } },
    'vendor.photographer': { ttl: '2h', volatility: 'high' },
  },
} satisfies PolicyConfigInput

/** Policies of `input`, validated as the layer validates them. */
export function policiesOf(input: PolicyConfigInput, options?: TtlPoliciesOptions): TtlPolicies {
  return new TtlPolicies(parsePolicyConfig(input), options)
}

/** Epoch ms of an ISO time (UTC unless it says otherwise). */
export function at(iso: string): number {
  const ms = Date.parse(iso)
  if (!Number.isFinite(ms)) throw new Error(`bad time ${iso}`)
  return ms
}

/** July 1, 2026: in the peak season of {@link EXAMPLE}. */
export const IN_PEAK = at('2026-07-01T12:00:00Z')
/** December 1, 2026: outside every season of {@link EXAMPLE}. */
export const OFF_PEAK = at('2026-12-01T12:00:00Z')

/** A request with no role, no context, off-peak, over `fields`. */
export function request(policy: string, fields: Partial<Omit<PolicyRequest, 'policy'>> = {}): PolicyRequest {
  return { policy, role: undefined, context: undefined, now: OFF_PEAK, ...fields }
}

/** A random source that returns `values` in turn, for jitter's bound cases. */
export function sequence(...values: number[]): () => number {
  let i = 0
  return () => values[i++ % values.length] ?? 0
}
