/**
 * The rate-limit algorithm: GCRA, the generic cell rate algorithm (ITU-T I.371, from ATM networks),
 * as redis-cell (https://github.com/brandur/redis-cell) and Brandur Leach's `throttled` implement it
 * for API rate limits: a leaky bucket kept as one number per subject, with no timers and no
 * per-request log.
 *
 * For a plan of `limit` requests per `windowMs`, each request is worth an emission interval
 * `T = windowMs / limit`. GCRA keeps a "theoretical arrival time" TAT per subject; a request at `now`
 * is allowed when `max(TAT, now) + T - now <= windowMs`, and then moves TAT to `max(TAT, now) + T`. So:
 *
 * - an idle subject may make a burst of exactly `limit` requests;
 * - capacity then comes back continuously, one request every `T` ms, and all of it after `windowMs`;
 * - in any interval of `d` ms, at most `limit + floor(d * limit / windowMs)` requests are allowed: a
 *   full burst and what refilled meanwhile. The long-run rate is `limit` per `windowMs`; a sliding
 *   window of `windowMs` can see up to `2 * limit - 1` (a burst, then the refill) but never more;
 * - a refused request changes nothing, so hammering while refused does not push the retry further.
 *
 * We chose it over a sliding-window counter because its state is one pair of integers (one short
 * Redis string), updated in one step, and it is exact: there is no estimate of the previous window's
 * distribution, and retry times are exact to the millisecond.
 *
 * Arithmetic is in integers so that JavaScript and Redis's Lua (doubles) agree to the unit: time is
 * counted in ticks of `1 / limit` ms, so `T` is `windowMs` ticks, the bucket holds `limit * windowMs`
 * ticks (a safe integer, see plans.ts) and drains `limit` ticks per ms. The state is `{ stampMs, debt }`:
 * at `stampMs` the subject owed `debt` ticks (that is, TAT = stampMs + debt / limit). The Lua script
 * in redis.ts is a line-by-line transcription of {@link gcraStep}; keep them in step.
 */
import type { RateDecision } from './limiter.js'
import type { FinitePlan } from './plans.js'

/** What a limiter keeps per subject: at `stampMs` (ms), the subject owed `debt` ticks of 1/limit ms. */
export interface GcraState {
  readonly stampMs: number
  readonly debt: number
}

/** The outcome of one request, before it is turned into a decision by {@link toDecision}. */
export interface GcraStep {
  readonly allowed: boolean
  /** Ticks owed after this request (including it when allowed). */
  readonly debt: number
  /** How far the stored stamp is ahead of `now` (a clock that went back), ms; usually 0. */
  readonly aheadMs: number
  /** The state to store when allowed; when refused nothing changes and this is the state read. */
  readonly state: GcraState
}

/**
 * One GCRA step for a request at `nowMs` (an integer), given the stored state (undefined for a
 * subject with none: idle).
 */
export function gcraStep(state: GcraState | undefined, nowMs: number, plan: FinitePlan): GcraStep {
  const { limit, windowMs } = plan
  const capacity = limit * windowMs
  let stampMs = nowMs
  let debt = 0
  let aheadMs = 0
  if (state !== undefined) {
    // After a change to a smaller plan, what was owed counts for one full window of it at most.
    const owed = Math.min(state.debt, capacity)
    if (state.stampMs > nowMs) {
      // The clock went back (another machine's clock, an adjustment): keep the later stamp, so that
      // going back never drains anything, and count from there.
      stampMs = state.stampMs
      debt = owed
      aheadMs = state.stampMs - nowMs
    } else {
      const drained = (nowMs - state.stampMs) * limit
      debt = drained >= owed ? 0 : owed - drained
    }
  }
  if (debt + windowMs > capacity) return { allowed: false, debt, aheadMs, state: { stampMs, debt } }
  debt += windowMs
  return { allowed: true, debt, aheadMs, state: { stampMs, debt } }
}

/** Turns the result of a step (here or in Redis) into a {@link RateDecision}. */
export function toDecision(plan: FinitePlan, allowed: boolean, debt: number, aheadMs: number): RateDecision {
  const { limit, windowMs } = plan
  const capacity = limit * windowMs
  return {
    allowed,
    limit,
    remaining: floorDiv(capacity - debt, windowMs),
    resetMs: debt === 0 ? 0 : aheadMs + ceilDiv(debt, limit),
    // Refused means debt + windowMs > capacity: wait until that much has drained.
    retryAfterMs: allowed ? 0 : aheadMs + ceilDiv(debt + windowMs - capacity, limit),
  }
}

// Exact for non-negative safe integers, where Math.floor(a / b) may be off by one once a / b rounds.
function floorDiv(a: number, b: number): number {
  return (a - (a % b)) / b
}

function ceilDiv(a: number, b: number): number {
  const rest = a % b
  return (a - rest) / b + (rest > 0 ? 1 : 0)
}
