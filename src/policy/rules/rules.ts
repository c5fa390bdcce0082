import type { EventTargets } from '../../cache/policy-hook.js'
import { UnknownEventError } from '../../errors.js'
import type { PolicyConfig } from '../config.js'

// STUB (helper "rules" replaces it).

/** The invalidation rules of a configuration. */
export class EventRules {
  constructor(private readonly config: PolicyConfig['rules']) {}

  /** @throws UnknownEventError */
  targets(event: string, _params: Readonly<Record<string, string | number>>): EventTargets {
    void this.config
    throw new UnknownEventError(`no rule for event "${event}"`)
  }
}
