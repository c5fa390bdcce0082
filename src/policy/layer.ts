import type { PolicyDecision, PolicyHook, PolicyRequest, EventTargets } from '../cache/policy-hook.js'
import { type PolicyConfig, type PolicyConfigInput, parsePolicyConfig } from './config.js'
import { KeyBuilder } from './keys/builder.js'
import { EventRules } from './rules/rules.js'
import { TtlPolicies } from './ttl/policies.js'

/**
 * The policy layer built from one configuration: ttl policies (`decide`), seasonal L1 capacity,
 * invalidation rules (`targets`). Hand it to `createCache({ policies })`, or give the configuration
 * itself there.
 */
export class Policy implements PolicyHook {
  /** The configuration, validated. */
  readonly config: PolicyConfig
  readonly ttl: TtlPolicies
  readonly rules: EventRules
  /** Context-aware keys: `keys.build('venueSearch', params, context)`. */
  readonly keys: KeyBuilder

  /** @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when the configuration is invalid */
  constructor(input: PolicyConfigInput | PolicyConfig) {
    this.config = parsePolicyConfig(input)
    this.ttl = new TtlPolicies(this.config)
    this.rules = new EventRules(this.config.rules)
    this.keys = new KeyBuilder(this.config)
  }

  decide(request: PolicyRequest): PolicyDecision {
    return this.ttl.decide(request)
  }

  l1Scale(now: number): number {
    return this.ttl.l1Scale(now)
  }

  nextBoundary(now: number): number | undefined {
    return this.ttl.nextBoundary(now)
  }

  targets(event: string, params: Readonly<Record<string, string | number>>): EventTargets {
    return this.rules.targets(event, params)
  }
}

/** Validates a policy configuration (docs/policies.md) and builds its layer. @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) */
export function definePolicy(input: PolicyConfigInput | PolicyConfig): Policy {
  return new Policy(input)
}
