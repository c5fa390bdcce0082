import type { EventTargets } from '../../cache/policy-hook.js'
import { NAMESPACE_PATTERN } from '../../core/validate.js'
import { InvalidOptionsError, UnknownEventError } from '../../errors.js'
import type { PolicyConfig } from '../config.js'
import type { EventRuleSpec } from './schema.js'
import { type TemplatePart, expand, parseTemplate } from './template.js'

/** One rule as `GET /v1/rules` lists it: the templates as configured. */
export interface RuleInfo {
  readonly event: string
  readonly params: readonly string[]
  readonly tags: readonly string[]
  readonly namespaces: readonly string[]
  /** Where the tags are removed; absent: every namespace of a public view, a tenant's or user's view's own. */
  readonly in?: readonly string[]
  readonly description?: string
}

/** Options of {@link EventRules}. */
export interface EventRulesOptions {
  /** The cache's `limits.maxTagLength`: an expanded tag longer than this is refused. @default 256 */
  readonly maxTagLength?: number
}

interface CompiledRule {
  readonly info: RuleInfo
  readonly tags: readonly (readonly TemplatePart[])[]
  readonly namespaces: readonly (readonly TemplatePart[])[]
  readonly in: readonly (readonly TemplatePart[])[] | undefined
}

/** A control character (C0, DEL, C1): no tag or namespace made from an event carries one (SQL text, logs). */
const UNSAFE_TEXT = /\p{Cc}/u

/** The params a namespace template's value may hold: namespace characters, so that the namespace stays one. */
const NAMESPACE_VALUE = /^[A-Za-z0-9._-]+$/

function parsed(template: string): readonly TemplatePart[] {
  const result = parseTemplate(template)
  // rulesSchema parsed every template already; a config that bypassed it is a bug.
  if ('error' in result) throw new InvalidOptionsError(`rule template ${template} ${result.error}`)
  return result.parts
}

/**
 * The invalidation rules of a configuration (its `rules` section): which tags and namespaces an
 * event invalidates, its `{param}` templates filled with the event's params. The engine's
 * `cache.emit(event, params)` asks {@link targets}, then invalidates the tags and clears the
 * namespaces in the scope of the view that emits. See docs/rules.md.
 */
export class EventRules {
  private readonly rules = new Map<string, CompiledRule>()
  private readonly maxTagLength: number

  constructor(config: PolicyConfig['rules'], options: EventRulesOptions = {}) {
    this.maxTagLength = options.maxTagLength ?? 256
    for (const [event, spec] of Object.entries(config ?? {})) this.rules.set(event, compile(event, spec))
  }

  /** Every rule, by event name. */
  list(): RuleInfo[] {
    return [...this.rules.values()].map((rule) => rule.info).sort((a, b) => (a.event < b.event ? -1 : a.event > b.event ? 1 : 0))
  }

  /** True when some rule handles `event`. */
  has(event: string): boolean {
    return this.rules.has(event)
  }

  /**
   * The tags and namespaces that `event` with `params` invalidates, each listed once, and `tagsIn`,
   * the namespaces the tags are removed in, when the rule names them (`in`). Params the rule does
   * not declare are ignored: an event may carry more than its rule needs.
   * @throws UnknownEventError (`TC_UNKNOWN_EVENT`) for an event no rule declares
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for a declared param that `params` lacks, or
   *   a value that would not make a valid tag (empty, a control character, too long) or namespace
   *   (anything but `[A-Za-z0-9._-]`, or longer than 128)
   */
  targets(event: string, params: Readonly<Record<string, string | number>> = {}): EventTargets {
    const rule = this.rules.get(event)
    if (rule === undefined) {
      const known = [...this.rules.keys()]
      throw new UnknownEventError(`no rule for event ${JSON.stringify(event)}${known.length === 0 ? ': the configuration declares no rules' : `; events: ${known.sort().join(', ')}`}`)
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new InvalidOptionsError(`params of ${event} must be an object of named values`)
    const values = new Map<string, string>()
    for (const name of rule.info.params) {
      const value = Object.hasOwn(params, name) ? params[name] : undefined
      values.set(name, paramText(event, name, value))
    }
    const tags = [...new Set(rule.tags.map((parts) => expand(parts, values)))]
    for (const tag of tags) {
      if (tag.length > this.maxTagLength) throw new InvalidOptionsError(`event ${event}: its params make the tag ${tag.slice(0, 40)}…, longer than ${this.maxTagLength} characters`)
    }
    const namespaces = namespacesOf(event, rule.namespaces, values)
    const tagsIn = rule.in === undefined ? undefined : namespacesOf(event, rule.in, values)
    return Object.freeze({ tags: Object.freeze(tags), namespaces: Object.freeze(namespaces), ...(tagsIn === undefined ? {} : { tagsIn: Object.freeze(tagsIn) }) })
  }
}

function compile(event: string, spec: EventRuleSpec): CompiledRule {
  const info: RuleInfo = {
    event,
    params: spec.params,
    tags: spec.tags,
    namespaces: spec.namespaces,
    ...(spec.in === undefined ? {} : { in: spec.in }),
    ...(spec.description === undefined ? {} : { description: spec.description }),
  }
  return { info, tags: spec.tags.map(parsed), namespaces: spec.namespaces.map(parsed), in: spec.in?.map(parsed) }
}

/** Namespace templates filled in, each listed once. @throws InvalidOptionsError for a value that would not keep a namespace one */
function namespacesOf(event: string, templates: readonly (readonly TemplatePart[])[], values: ReadonlyMap<string, string>): string[] {
  for (const parts of templates) {
    for (const part of parts) {
      if (!('param' in part)) continue
      const value = values.get(part.param) ?? ''
      if (!NAMESPACE_VALUE.test(value)) {
        throw new InvalidOptionsError(`param ${part.param} of ${event} goes into a namespace: it must be of [A-Za-z0-9._-], not ${JSON.stringify(value.slice(0, 80))}`)
      }
    }
  }
  const namespaces = [...new Set(templates.map((parts) => expand(parts, values)))]
  for (const namespace of namespaces) {
    if (!NAMESPACE_PATTERN.test(namespace)) throw new InvalidOptionsError(`event ${event}: its params make the namespace ${namespace.slice(0, 40)}…, longer than 128 characters`)
  }
  return namespaces
}

/** A param's value as templates write it: text as it is, a finite number in its shortest form. */
function paramText(event: string, name: string, value: unknown): string {
  if (value === undefined) throw new InvalidOptionsError(`param ${name} is required by event ${event}`)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidOptionsError(`param ${name} of ${event} must be a finite number, not ${value}`)
    return String(Object.is(value, -0) ? 0 : value)
  }
  if (typeof value !== 'string') throw new InvalidOptionsError(`param ${name} of ${event} must be a string or a number`)
  if (value.length === 0) throw new InvalidOptionsError(`param ${name} of ${event} must not be empty`)
  if (UNSAFE_TEXT.test(value) || !value.isWellFormed()) throw new InvalidOptionsError(`param ${name} of ${event} must be well-formed text without control characters`)
  return value
}
