import { createHash } from 'node:crypto'
import type { CallContext } from '../../cache/policy-hook.js'
import { InvalidContextError, InvalidOptionsError } from '../../errors.js'
import type { PolicyConfig } from '../config.js'
import { type Bucketer, bucketerOf } from './buckets.js'
import { canonicalJson } from './canonical.js'
import { paramValue } from './params.js'
import type { KeyBuilderSpec, ParamSpec, ParamType } from './schema.js'

/** Length of a sha-256 digest in base64url, without padding. */
const HASH_LENGTH = 43

/** One param of an explanation. */
export interface ParamExplanation {
  readonly name: string
  readonly type: ParamType
  readonly optional: boolean
  /** The value as given; absent when the request left the param out. */
  readonly raw?: unknown
  /** The value as the key holds it (`'2'` of an integer param is `2`); absent when left out. */
  readonly value?: unknown
}

/** One context field of an explanation. */
export interface ContextExplanation {
  readonly field: string
  /** The rule in words: `market us`, `season (peak 04-01..10-31; otherwise off-season)`, `tiers 5000, 15000, 40000`. */
  readonly rule: string
  readonly optional: boolean
  /** The value as given; absent when the context left the field out (allowed for optional fields only). */
  readonly raw?: string | number | boolean
  /** The bucket the key holds; absent with the value. */
  readonly bucket?: string
  /** Why the value landed in its bucket. */
  readonly reason: string
}

/** How a key was made, step by step (`tiercache key explain`). */
export interface KeyExplanation {
  readonly builder: string
  readonly version: number
  readonly params: readonly ParamExplanation[]
  readonly context: readonly ContextExplanation[]
  /** The text that is hashed: `{"context":{...buckets},"params":{...values}}`, canonical (see {@link canonicalJson}). */
  readonly canonical: string
  /** `<builder>:v<version>:<sha-256 of canonical, base64url>`. */
  readonly key: string
}

/** Options of {@link KeyBuilder}. */
export interface KeyBuilderOptions {
  /** The cache's `limits.maxKeyLength`, which every key must fit. @default 1024 */
  readonly maxKeyLength?: number
}

interface CompiledBuilder {
  readonly name: string
  readonly spec: KeyBuilderSpec
  readonly prefix: string
  readonly params: ReadonlyMap<string, ParamSpec>
  readonly context: readonly { readonly field: string; readonly optional: boolean; readonly bucketer: Bucketer }[]
}

/** What one build computed, for `build` and `explain` alike. */
interface Made {
  readonly builder: CompiledBuilder
  readonly params: ParamExplanation[]
  readonly context: ContextExplanation[]
  readonly canonical: string
  readonly key: string
}

/**
 * Context-aware cache keys from the `keys` section of a policy configuration: a named builder turns
 * a request's params and its context into `<builder>:v<version>:<hash>`. The params are
 * canonicalized (declared types checked and normalized, keys sorted at every depth, `undefined`
 * dropped: see {@link canonicalJson}); the declared context fields are bucketed by their rules (a
 * location into its market, a date into its season, a budget into a tier, a count into a band), and
 * the buckets, not the raw values, are hashed with the params (sha-256, base64url), so that requests
 * whose context falls in the same buckets share an entry. Context fields a builder does not declare
 * (`freshness`, for ttl policies) are ignored. See docs/keys.md.
 *
 * @example
 * const keys = definePolicy(config).keys
 * keys.build('venueSearch', { query: 'barn' }, { location: 'Austin', date: '2025-06-14', budget: 12000, guests: 80 })
 * // 'venueSearch:v2:<43 characters>': the same for Dallas, 2025-07-01, 9000 and 60 guests when they share the buckets
 */
export class KeyBuilder {
  private readonly builders = new Map<string, CompiledBuilder>()

  /**
   * @param config - the validated configuration (`parsePolicyConfig`): its `keys` section, and the
   *   `seasons` that season rules name
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for a season rule naming a season the
   *   configuration lacks (or one without readable windows), or a builder whose keys would not fit
   *   `maxKeyLength`
   */
  constructor(config: PolicyConfig, options: KeyBuilderOptions = {}) {
    const maxKeyLength = options.maxKeyLength ?? 1024
    for (const [name, spec] of Object.entries(config.keys?.builders ?? {})) {
      const prefix = `${name}:v${spec.version}:`
      if (prefix.length + HASH_LENGTH > maxKeyLength) {
        throw new InvalidOptionsError(`keys.builders.${name}: its keys would be ${prefix.length + HASH_LENGTH} characters, over the cache's maxKeyLength of ${maxKeyLength}`)
      }
      const context = Object.entries(spec.context).map(([field, rule]) => ({
        field,
        optional: rule.optional,
        bucketer: bucketerOf(rule, config, `keys.builders.${name}.context.${field}`),
      }))
      this.builders.set(name, { name, spec, prefix, params: new Map(spec.params.map((param) => [param.name, param])), context })
    }
  }

  /** The builders' names, in the configuration's order. */
  names(): string[] {
    return [...this.builders.keys()]
  }

  /** The declared params of builder `name`, in order. @throws InvalidOptionsError for an unknown builder */
  paramsOf(name: string): readonly ParamSpec[] {
    return this.compiled(name).spec.params
  }

  /** The context fields builder `name` declares, in order. @throws InvalidOptionsError for an unknown builder */
  contextFieldsOf(name: string): readonly string[] {
    return this.compiled(name).context.map(({ field }) => field)
  }

  /**
   * The key of a request: `<builder>:v<version>:<hash>`, under 200 characters (the hash is 43).
   * @param params - the request's parameters: every declared one that is not optional, of its
   *   declared type; undeclared ones are refused unless the builder says `unknownParams: 'ignore'`
   * @param context - the call's context (the same object its `getOrSet` takes); every declared field
   *   that is not optional
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for an unknown builder, a missing, undeclared
   *   or mistyped param, or a value without a canonical JSON form
   * @throws InvalidContextError (`TC_INVALID_CONTEXT`) for a missing context field, or a value its
   *   rule cannot bucket (a location the market lacks, a date that is not one, a negative budget)
   */
  build(name: string, params: Readonly<Record<string, unknown>> = {}, context?: CallContext): string {
    return this.make(name, params, context).key
  }

  /** What {@link build} does, step by step: each param and context field with its raw value, rule and bucket, the canonical text and the key. @throws as build */
  explain(name: string, params: Readonly<Record<string, unknown>> = {}, context?: CallContext): KeyExplanation {
    const made = this.make(name, params, context, true)
    return { builder: made.builder.name, version: made.builder.spec.version, params: made.params, context: made.context, canonical: made.canonical, key: made.key }
  }

  private compiled(name: string): CompiledBuilder {
    const builder = this.builders.get(name)
    if (builder !== undefined) return builder
    const known = this.names()
    throw new InvalidOptionsError(`no key builder ${JSON.stringify(name)}${known.length === 0 ? ': the configuration declares none (keys.builders)' : `; builders: ${known.join(', ')}`}`)
  }

  private make(name: string, params: Readonly<Record<string, unknown>>, context: CallContext | undefined, explaining = false): Made {
    const builder = this.compiled(name)
    if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new InvalidOptionsError(`params of ${name} must be an object of named values`)
    if (builder.spec.unknownParams === 'reject') {
      const undeclared = Object.keys(params).filter((param) => !builder.params.has(param) && params[param] !== undefined)
      if (undeclared.length > 0) {
        const declared = [...builder.params.keys()]
        throw new InvalidOptionsError(
          `${name} declares no param ${undeclared.join(', ')} (params: ${declared.join(', ') || 'none'}); declare it in keys.builders.${name}.params, or set unknownParams: 'ignore' there`,
        )
      }
    }
    const values: Record<string, unknown> = {}
    const paramSteps: ParamExplanation[] = []
    for (const spec of builder.params.values()) {
      const raw = Object.hasOwn(params, spec.name) ? params[spec.name] : undefined
      const step = { name: spec.name, type: spec.type, optional: spec.optional }
      if (raw === undefined) {
        if (!spec.optional) throw new InvalidOptionsError(`param ${spec.name} is required by ${name}`)
        if (explaining) paramSteps.push(step)
        continue
      }
      const value = paramValue(spec, raw, `${name}.${spec.name}`)
      values[spec.name] = value
      if (explaining) paramSteps.push({ ...step, raw, value })
    }
    const buckets: Record<string, string> = {}
    const contextSteps: ContextExplanation[] = []
    for (const { field, optional, bucketer } of builder.context) {
      const raw = context === undefined || !Object.hasOwn(context, field) ? undefined : context[field]
      if (raw === undefined) {
        if (!optional) throw new InvalidContextError(`context field ${field} is required by ${name} (its rule: ${bucketer.rule})`)
        if (explaining) contextSteps.push({ field, rule: bucketer.rule, optional, reason: 'left out (optional): not in the key' })
        continue
      }
      const { bucket, reason } = bucketer.bucket(raw, field)
      buckets[field] = bucket
      if (explaining) contextSteps.push({ field, rule: bucketer.rule, optional, raw, bucket, reason })
    }
    const canonical = `{"context":${canonicalJson(buckets, 'context')},"params":${canonicalJson(values, 'params')}}`
    const key = builder.prefix + createHash('sha256').update(canonical).digest('base64url')
    return { builder, params: paramSteps, context: contextSteps, canonical, key }
  }
}
