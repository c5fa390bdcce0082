import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { createCache, project } from '../../src/index.js'

const profile = { id: 7, name: 'Ada', email: 'ada@example.com', org: { name: 'X', iban: 'DE00' }, posts: [{ title: 't', draft: 'secret' }] }

describe('project', () => {
  it('keeps only the declared fields and dotted paths, element by element in arrays', () => {
    expect(project(profile, ['id', 'name', 'org.name', 'posts.title', 'missing'])).toEqual({
      id: 7,
      name: 'Ada',
      org: { name: 'X' },
      posts: [{ title: 't' }],
    })
    expect(project(profile, ['org', 'org.name'])).toEqual({ org: { name: 'X', iban: 'DE00' } })
    expect(project([profile, profile], ['id'])).toEqual([{ id: 7 }, { id: 7 }])
  })

  it('shows nothing of values that have no fields to vet', () => {
    expect(project('ada@example.com', ['id'])).toBeNull()
    expect(project(new Map([['id', 1]]), ['id'])).toBeNull()
    expect(project({ when: new Date(0) }, ['when.getTime'])).toEqual({ when: null })
  })

  it('rejects field lists that are empty or malformed', () => {
    for (const fields of [[], [''], ['a..b'], [1]] as unknown as string[][]) {
      expect(() => project(profile, fields)).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
    }
  })
})

describe('publicFields on getOrSet', () => {
  let cache: Cache
  beforeEach(() => {
    cache = createCache({ l3: false })
  })
  afterEach(() => cache.close())

  it('caches and returns only the public fields for anonymous callers', async () => {
    const anon = cache.withContext({ role: 'anon' })
    let calls = 0
    const load = () => {
      calls++
      return profile
    }
    expect(await anon.getOrSet('user:7', load, { publicFields: ['id', 'name'] })).toEqual({ id: 7, name: 'Ada' })
    expect(await anon.get('user:7')).toEqual({ id: 7, name: 'Ada' })
    expect(await cache.get('user:7')).toEqual({ id: 7, name: 'Ada' }) // the public entry itself holds no more
    expect(calls).toBe(1)

    const member = cache.withContext({ role: 'authenticated', tenantId: 'acme' })
    expect(await member.getOrSet('user:7', load, { publicFields: ['id', 'name'] })).toEqual(profile)
    expect(calls).toBe(2)
  })

  it('validates the fields before the factory runs, and does not cache an undefined result', async () => {
    const anon = cache.withContext({ role: 'anon' })
    let calls = 0
    await expect(anon.getOrSet('k', () => ++calls, { publicFields: [] })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    expect(calls).toBe(0)
    expect(await anon.getOrSet('u', () => undefined, { publicFields: ['id'] })).toBeUndefined()
    expect(await anon.get('u')).toBeUndefined()
  })
})
