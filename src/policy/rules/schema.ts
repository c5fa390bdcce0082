import { z } from 'zod'
import { PARAM_NAME, paramsOf, parseTemplate } from './template.js'

/** Event names: dotted words, `template.updated`, `flight.status-changed`. */
export const EVENT_NAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/

/** Most tags, and most namespaces, one rule may name. */
export const MAX_RULE_TARGETS = 64

/** Longest tag a template may make with every value at its longest; the cache's default `limits.maxTagLength`. */
const MAX_TAG_LENGTH = 256

const paramSchema = z.string().regex(PARAM_NAME, 'must be a letter or _ then up to 63 of [A-Za-z0-9_]')

/** Literal text of a namespace template: namespace characters only (a value goes between them). */
const NAMESPACE_TEXT = /^[A-Za-z0-9._-]*$/

const ruleSchema = z
  .strictObject({
    params: z.array(paramSchema).default([]).describe('The params an emit of the event must give.'),
    tags: z.array(z.string().min(1).max(MAX_TAG_LENGTH)).max(MAX_RULE_TARGETS).default([]).describe('Tags to invalidate, with {param} templates: template:{id}.'),
    namespaces: z.array(z.string().min(1).max(128)).max(MAX_RULE_TARGETS).default([]).describe('Namespaces to clear, with {param} templates: flight_{id}.'),
    in: z
      .array(z.string().min(1).max(128))
      .min(1)
      .max(MAX_RULE_TARGETS)
      .optional()
      .describe("The namespaces the tags are removed in, with {param} templates. Default: every namespace of a public view; a tenant's or user's view, its own namespace."),
    description: z.string().max(1000).optional(),
  })
  .superRefine((rule, ctx) => {
    const declared = new Set<string>()
    rule.params.forEach((param, index) => {
      if (declared.has(param)) ctx.addIssue({ code: 'custom', path: ['params', index], message: `param ${param} is declared twice` })
      declared.add(param)
    })
    if (rule.tags.length === 0 && rule.namespaces.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'a rule invalidates something: give it tags, namespaces or both' })
    }
    if (rule.in !== undefined && rule.tags.length === 0) ctx.addIssue({ code: 'custom', path: ['in'], message: 'in names where the tags are removed: give the rule tags' })
    const check = (kind: 'tags' | 'namespaces' | 'in', template: string, index: number) => {
      const parsed = parseTemplate(template)
      if ('error' in parsed) {
        ctx.addIssue({ code: 'custom', path: [kind, index], message: `${template} ${parsed.error}` })
        return
      }
      for (const param of paramsOf(parsed.parts)) {
        if (!declared.has(param)) ctx.addIssue({ code: 'custom', path: [kind, index], message: `${template} uses {${param}}, which params does not declare` })
      }
      if (kind !== 'tags') {
        const bad = parsed.parts.find((part) => 'text' in part && !NAMESPACE_TEXT.test(part.text))
        if (bad !== undefined) ctx.addIssue({ code: 'custom', path: [kind, index], message: `${template}: a namespace has only [A-Za-z0-9._-] besides its {params}` })
      }
    }
    rule.tags.forEach((template, index) => check('tags', template, index))
    rule.namespaces.forEach((template, index) => check('namespaces', template, index))
    rule.in?.forEach((template, index) => check('in', template, index))
  })

/** One rule of the `rules` section, validated. */
export type EventRuleSpec = z.output<typeof ruleSchema>

/**
 * The `rules` section of the policy configuration: event name → what the event invalidates, in the
 * scope of the view that emits it: the tags are removed (in the namespaces of `in`, else every
 * namespace of a public view, or a tenant's or user's view's own namespace) and the namespaces are
 * cleared whole. `{param}` in a tag or namespace is the event's value of that param; every
 * placeholder must be a declared param. See docs/rules.md.
 *
 * ```json
 * { "template.updated": { "params": ["id"], "tags": ["template:{id}"], "namespaces": ["recommendations"] },
 *   "flight.updated": { "params": ["id"], "tags": ["flight:{id}"], "in": ["flights", "bookings"], "namespaces": ["flight_search", "flight_status"] } }
 * ```
 */
export const rulesSchema = z.record(z.string(), ruleSchema).superRefine((rules, ctx) => {
  // Checked here rather than by the record's key schema, whose failure zod reports as "Invalid key in record".
  for (const event of Object.keys(rules)) {
    if (event.length > 128 || !EVENT_NAME.test(event)) {
      ctx.addIssue({ code: 'custom', path: [event], message: `the event name ${JSON.stringify(event)} must be dotted words of [A-Za-z0-9_-], at most 128 characters, e.g. template.updated` })
    }
  }
})
