import type { PolicyDecision, PolicyRequest } from '../../cache/policy-hook.js'
import { UnknownPolicyError } from '../../errors.js'
import type { PolicyConfig } from '../config.js'

// STUB (helper "ttl" replaces it).

/** The ttl policies of a configuration, with their multipliers and seasons. */
export class TtlPolicies {
  constructor(private readonly config: PolicyConfig) {}

  /** @throws UnknownPolicyError */
  decide(request: PolicyRequest): PolicyDecision {
    if (!Object.hasOwn(this.config.policies, request.policy)) throw new UnknownPolicyError(`no policy named "${request.policy}"`)
    return { ttlMs: 60_000, graceMs: 0 }
  }

  l1Scale(_now: number): number {
    return 1
  }

  nextBoundary(_now: number): number | undefined {
    return undefined
  }
}
