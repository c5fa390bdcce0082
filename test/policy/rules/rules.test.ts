import { describe, expect, it } from 'vitest'
import { parsePolicyConfig } from '../../../src/policy/config.js'
import { refusal } from '../../helpers/refusal.js'
import { definePolicy } from '../../../src/policy/layer.js'
import { EventRules } from '../../../src/policy/rules/rules.js'

const config = parsePolicyConfig({
  rules: {
    'template.updated': { params: ['id'], tags: ['template:{id}'], namespaces: ['recommendations'], description: 'a wedding template changed' },
    'flight.updated': { params: ['id'], tags: ['flight:{id}'], namespaces: ['flight_search', 'flight_status'] },
    'route.repriced': { params: ['from', 'to'], tags: ['route:{from}-{to}', 'fares:{from}', 'fares:{to}'] },
    'tenant.rebranded': { namespaces: ['branding'] },
    'board.reloaded': { params: ['gate'], namespaces: ['board_{gate}'] },
    'airline.renamed': { params: ['code'], tags: ['airline:{code}'], in: ['flights', 'airline_{code}', 'flights'] },
  },
})
const rules = new EventRules(config.rules)

describe('EventRules.targets', () => {
  it('expands the templates of the issue', () => {
    expect(rules.targets('template.updated', { id: 't42' })).toEqual({ tags: ['template:t42'], namespaces: ['recommendations'] })
    expect(rules.targets('flight.updated', { id: 'BA117' })).toEqual({ tags: ['flight:BA117'], namespaces: ['flight_search', 'flight_status'] })
  })

  it('fills several params, lists each target once, and needs none for a rule without params', () => {
    expect(rules.targets('route.repriced', { from: 'JFK', to: 'LHR' })).toEqual({ tags: ['route:JFK-LHR', 'fares:JFK', 'fares:LHR'], namespaces: [] })
    expect(rules.targets('route.repriced', { from: 'JFK', to: 'JFK' }).tags).toEqual(['route:JFK-JFK', 'fares:JFK'])
    expect(rules.targets('tenant.rebranded', {})).toEqual({ tags: [], namespaces: ['branding'] })
    expect(rules.targets('tenant.rebranded')).toEqual({ tags: [], namespaces: ['branding'] })
  })

  it('writes numbers in their shortest form, and ignores params the rule does not declare', () => {
    expect(rules.targets('template.updated', { id: 42 }).tags).toEqual(['template:42'])
    expect(rules.targets('template.updated', { id: -0 }).tags).toEqual(['template:0'])
    expect(rules.targets('template.updated', { id: 1.5, by: 'alice' }).tags).toEqual(['template:1.5'])
  })

  it('answers frozen targets', () => {
    const targets = rules.targets('flight.updated', { id: 'BA117' })
    expect(Object.isFrozen(targets) && Object.isFrozen(targets.tags) && Object.isFrozen(targets.namespaces)).toBe(true)
  })

  it('refuses an unknown event, naming the known ones', () => {
    expect(refusal(() => rules.targets('flight.cancelled', { id: 'BA117' }), 'TC_UNKNOWN_EVENT')).toBe(
      'no rule for event "flight.cancelled"; events: airline.renamed, board.reloaded, flight.updated, route.repriced, template.updated, tenant.rebranded',
    )
    expect(refusal(() => new EventRules(undefined).targets('x', {}), 'TC_UNKNOWN_EVENT')).toMatch(/declares no rules/)
  })

  it('refuses a missing param, and values that would not make a valid tag', () => {
    expect(refusal(() => rules.targets('flight.updated', {}), 'TC_INVALID_OPTIONS')).toBe('param id is required by event flight.updated')
    expect(refusal(() => rules.targets('route.repriced', { from: 'JFK' }), 'TC_INVALID_OPTIONS')).toBe('param to is required by event route.repriced')
    expect(refusal(() => rules.targets('flight.updated', { id: '' }), 'TC_INVALID_OPTIONS')).toMatch(/must not be empty/)
    expect(refusal(() => rules.targets('flight.updated', { id: 'a\u0000b' }), 'TC_INVALID_OPTIONS')).toMatch(/without control characters/)
    expect(refusal(() => rules.targets('flight.updated', { id: 'a\nb' }), 'TC_INVALID_OPTIONS')).toMatch(/without control characters/)
    expect(refusal(() => rules.targets('flight.updated', { id: '\ud800' }), 'TC_INVALID_OPTIONS')).toMatch(/well-formed/)
    expect(refusal(() => rules.targets('flight.updated', { id: Number.NaN }), 'TC_INVALID_OPTIONS')).toMatch(/finite number/)
    expect(refusal(() => rules.targets('flight.updated', { id: true as unknown as string }), 'TC_INVALID_OPTIONS')).toMatch(/a string or a number/)
    expect(refusal(() => rules.targets('flight.updated', { id: 'x'.repeat(250) }), 'TC_INVALID_OPTIONS')).toMatch(/longer than 256 characters/)
    expect(rules.targets('flight.updated', { id: 'x'.repeat(249) }).tags[0]).toHaveLength(256)
  })

  it('keeps a namespace a namespace', () => {
    expect(rules.targets('board.reloaded', { gate: 'B12' }).namespaces).toEqual(['board_B12'])
    expect(refusal(() => rules.targets('board.reloaded', { gate: 'B 12' }), 'TC_INVALID_OPTIONS')).toBe(
      'param gate of board.reloaded goes into a namespace: it must be of [A-Za-z0-9._-], not "B 12"',
    )
    expect(refusal(() => rules.targets('board.reloaded', { gate: '~t~x' }), 'TC_INVALID_OPTIONS')).toMatch(/goes into a namespace/)
    expect(refusal(() => rules.targets('board.reloaded', { gate: 'g'.repeat(123) }), 'TC_INVALID_OPTIONS')).toMatch(/longer than 128 characters/)
    expect(rules.targets('board.reloaded', { gate: 'g'.repeat(122) }).namespaces[0]).toHaveLength(128)
  })

  it('names where the tags are removed when the rule says (in), filled in like namespaces', () => {
    expect(rules.targets('airline.renamed', { code: 'BA' })).toEqual({ tags: ['airline:BA'], namespaces: [], tagsIn: ['flights', 'airline_BA'] })
    expect('tagsIn' in rules.targets('flight.updated', { id: 'BA117' })).toBe(false)
    expect(refusal(() => rules.targets('airline.renamed', { code: 'B/A' }), 'TC_INVALID_OPTIONS')).toMatch(/param code of airline\.renamed goes into a namespace/)
  })

  it('follows the cache\'s tag limit when given one', () => {
    const tight = new EventRules(config.rules, { maxTagLength: 12 })
    expect(tight.targets('flight.updated', { id: 'BA117' }).tags).toEqual(['flight:BA117'])
    expect(refusal(() => tight.targets('flight.updated', { id: 'BA1170' }), 'TC_INVALID_OPTIONS')).toMatch(/longer than 12 characters/)
  })
})

describe('EventRules.list', () => {
  it('lists every rule by event name, with its templates as configured', () => {
    expect(rules.list().map((rule) => rule.event)).toEqual(['airline.renamed', 'board.reloaded', 'flight.updated', 'route.repriced', 'template.updated', 'tenant.rebranded'])
    expect(rules.list()[4]).toEqual({
      event: 'template.updated',
      params: ['id'],
      tags: ['template:{id}'],
      namespaces: ['recommendations'],
      description: 'a wedding template changed',
    })
    expect(rules.list()[0]).toMatchObject({ event: 'airline.renamed', in: ['flights', 'airline_{code}', 'flights'] })
    expect(new EventRules(undefined).list()).toEqual([])
  })
})

describe('the rules section', () => {
  const invalid = (rules: unknown) => () => parsePolicyConfig({ rules })

  it('checks that every placeholder is a declared param', () => {
    expect(invalid({ 'a.b': { params: ['id'], tags: ['x:{ID}'] } })).toThrow(/x:\{ID\} uses \{ID\}, which params does not declare/)
    expect(invalid({ 'a.b': { tags: ['x:{id}'] } })).toThrow(/uses \{id\}/)
    expect(invalid({ 'a.b': { params: ['id'], namespaces: ['ns_{id}', 'other_{gate}'] } })).toThrow(/rules\.a\.b\.namespaces\[1\]|namespaces.1/)
  })

  it('checks the templates themselves', () => {
    expect(invalid({ 'a.b': { params: ['id'], tags: ['x:{id'] } })).toThrow(/has a \{ without its \}/)
    expect(invalid({ 'a.b': { params: ['id'], tags: ['x:id}'] } })).toThrow(/has a \} without its \{/)
    expect(invalid({ 'a.b': { params: ['id'], tags: ['x:{}'] } })).toThrow(/has \{\}: a param name/)
    expect(invalid({ 'a.b': { params: ['id'], namespaces: ['flight:{id}'] } })).toThrow(/a namespace has only \[A-Za-z0-9._-\] besides its \{params\}/)
    expect(invalid({ 'a.b': { tags: [''] } })).toThrow()
    expect(invalid({ 'a.b': { params: ['id'], tags: ['x'], in: ['a:{id}'] } })).toThrow(/a namespace has only/)
    expect(invalid({ 'a.b': { tags: ['x'], in: ['a_{id}'] } })).toThrow(/uses \{id\}, which params does not declare/)
    expect(invalid({ 'a.b': { namespaces: ['x'], in: ['a'] } })).toThrow(/in names where the tags are removed: give the rule tags/)
  })

  it('refuses rules that invalidate nothing, repeated params, bad event names and unknown fields', () => {
    expect(invalid({ 'a.b': { params: ['id'] } })).toThrow(/give it tags, namespaces or both/)
    expect(invalid({ 'a.b': { params: ['id', 'id'], tags: ['{id}'] } })).toThrow(/param id is declared twice/)
    expect(invalid({ 'a b': { tags: ['x'] } })).toThrow(/dotted words/)
    expect(invalid({ 'a..b': { tags: ['x'] } })).toThrow(/dotted words/)
    expect(invalid({ 'a.b': { tags: ['x'], tag: ['y'] } })).toThrow(/tag/)
    expect(invalid({ 'a.b': { tags: Array.from({ length: 65 }, (_, i) => `t${i}`) } })).toThrow()
  })
})

describe('Policy.targets', () => {
  it('answers from the rules of its configuration', () => {
    const policy = definePolicy({ rules: { 'flight.updated': { params: ['id'], tags: ['flight:{id}'], namespaces: ['flight_status'] } } })
    expect(policy.targets('flight.updated', { id: 'BA117' })).toEqual({ tags: ['flight:BA117'], namespaces: ['flight_status'] })
    expect(policy.rules.list()).toHaveLength(1)
  })
})
