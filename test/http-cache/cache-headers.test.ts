/**
 * The Cache-Control helper for applications' own responses: the strings it writes, its validation,
 * the ETag and the If-None-Match test; then an application using it behind the HTTP cache, over real
 * HTTP on loopback.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../src/errors.js'
import {
  type CacheControlOptions,
  type CacheHeadersOptions,
  cacheControl,
  cacheControlFromPolicy,
  cacheHeaders,
  cacheOptionsFromPolicy,
  notModified,
  strongEtag,
} from '../../src/http-cache/cache-headers.js'
import { definePolicy } from '../../src/policy/layer.js'
import { type Mounted, type Reply, gate, mount } from './harness.js'

/** The error `run` throws, which must be an InvalidOptionsError. */
function invalid(run: () => unknown): InvalidOptionsError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).code).toBe('TC_INVALID_OPTIONS')
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError, nothing was thrown')
}

describe('cacheControl', () => {
  it.each<[CacheControlOptions, string]>([
    [{ ttl: '5m' }, 'public, max-age=300'],
    [{ ttl: 300_000, browserTtl: 300_999 }, 'public, max-age=300'],
    [{ ttl: '1h', browserTtl: '1m' }, 'public, max-age=60, s-maxage=3600'],
    [{ ttl: '1m', browserTtl: 0 }, 'public, max-age=0, s-maxage=60'],
    [{ ttl: '1h', browserTtl: '1m', visibility: 'private' }, 'private, max-age=60'],
    [{ ttl: '10m', visibility: 'private' }, 'private, max-age=600'],
  ])('RFC 9111 §5.2.2.1, §5.2.2.10, §5.2.2.7: %j → %s', (options, expected) => {
    expect(cacheControl(options)).toBe(expected)
  })

  it('RFC 9111 §1.2.2: whole seconds rounded down, capped at 2^31', () => {
    expect(cacheControl({ ttl: 1999 })).toBe('public, max-age=1')
    expect(cacheControl({ ttl: '1.5s' })).toBe('public, max-age=1')
    expect(cacheControl({ ttl: '36500d' })).toBe('public, max-age=2147483648')
  })

  it('RFC 5861 §3, §4: grace is stale-while-revalidate, staleIfError is stale-if-error; windows under 1 s are left out', () => {
    expect(cacheControl({ ttl: '5m', grace: '1m', staleIfError: '1d' })).toBe('public, max-age=300, stale-while-revalidate=60, stale-if-error=86400')
    expect(cacheControl({ ttl: '1h', browserTtl: '1m', staleIfError: '1h' })).toBe('public, max-age=60, s-maxage=3600, stale-if-error=3600')
    expect(cacheControl({ ttl: '5m', grace: 0, staleIfError: 999 })).toBe('public, max-age=300')
  })

  it('RFC 9111 §5.2.2.4: a ttl under 1 s with no stale window is no-cache; with a window it is max-age=0', () => {
    expect(cacheControl({ ttl: 0 })).toBe('public, no-cache')
    expect(cacheControl({ ttl: 999, visibility: 'private' })).toBe('private, no-cache')
    expect(cacheControl({ ttl: 0, grace: '30s' })).toBe('public, max-age=0, stale-while-revalidate=30')
  })

  it('RFC 9111 §5.2.2.2, RFC 8246: must-revalidate and immutable come last', () => {
    expect(cacheControl({ ttl: '1m', mustRevalidate: true })).toBe('public, max-age=60, must-revalidate')
    expect(cacheControl({ ttl: '365d', immutable: true })).toBe('public, max-age=31536000, immutable')
    expect(cacheControl({ ttl: 0, mustRevalidate: true })).toBe('public, no-cache, must-revalidate')
  })

  it.each<[string, unknown, RegExp]>([
    ['a negative ttl', { ttl: -1 }, /ttl must be a finite, non-negative duration/],
    ['an unparsable ttl', { ttl: 'soon' }, /ttl must be milliseconds or a string/],
    ['no ttl', {}, /ttl must be a duration/],
    ['a NaN ttl', { ttl: Number.NaN }, /ttl/],
    ['an infinite browserTtl', { ttl: 1000, browserTtl: Infinity }, /browserTtl/],
    ['more than 100 years', { ttl: '36501d' }, /at most 100 years/],
    ['a negative grace', { ttl: '1m', grace: -5 }, /grace must be a finite, non-negative/],
    ['a staleIfError of null', { ttl: '1m', staleIfError: null }, /staleIfError must be a duration/],
    ['an unknown visibility', { ttl: '1m', visibility: 'shared' }, /visibility/],
    ['a non-boolean immutable', { ttl: '1m', immutable: 'yes' }, /immutable/],
    ['an unknown option', { ttl: '1m', maxAge: 60 }, /maxAge/],
    ['mustRevalidate with a stale window', { ttl: '1m', grace: '1m', mustRevalidate: true }, /mustRevalidate forbids serving a stale response/],
    ['immutable with max-age=0', { ttl: '1h', browserTtl: 0, immutable: true }, /immutable needs a max-age of at least 1 s/],
  ])('throws InvalidOptionsError for %s', (_what, options, message) => {
    expect(invalid(() => cacheControl(options as CacheControlOptions)).message).toMatch(message)
  })
})

describe('cacheControl from a ttl policy', () => {
  const policy = definePolicy({ policies: { fares: { ttl: '1m', grace: '5m' }, countries: { ttl: '24h' } } })
  const decide = (name: string) => policy.decide({ policy: name, role: undefined, context: undefined, now: Date.now() })

  it('RFC 5861 §3, §4: the policy ttl is max-age and its grace both stale windows', () => {
    expect(cacheControlFromPolicy(decide('fares'))).toBe('public, max-age=60, stale-while-revalidate=300, stale-if-error=300')
    expect(cacheControlFromPolicy(decide('countries'))).toBe('public, max-age=86400')
  })

  it('RFC 9111 §5.2.2.10: extra options override the decision, undefined ones do not', () => {
    expect(cacheControlFromPolicy(decide('fares'), { grace: 0, browserTtl: '10s' })).toBe('public, max-age=10, s-maxage=60, stale-if-error=300')
    expect(cacheControlFromPolicy(decide('fares'), { grace: undefined })).toBe('public, max-age=60, stale-while-revalidate=300, stale-if-error=300')
    expect(cacheOptionsFromPolicy({ ttlMs: 1500, graceMs: 0 }, { cdnTtl: '1h' })).toEqual({ grace: 0, staleIfError: 0, cdnTtl: '1h', ttl: 1500 })
  })

  it('throws InvalidOptionsError for a decision without valid lifetimes, and for contradicting extras', () => {
    expect(invalid(() => cacheControlFromPolicy({ ttlMs: -1, graceMs: 0 })).message).toMatch(/ttlMs/)
    expect(invalid(() => cacheControlFromPolicy({ ttlMs: Number.NaN, graceMs: 0 })).message).toMatch(/ttlMs/)
    expect(invalid(() => cacheControlFromPolicy({ ttlMs: 1000 } as never)).message).toMatch(/graceMs/)
    expect(invalid(() => cacheControlFromPolicy(decide('fares'), { mustRevalidate: true })).message).toMatch(/mustRevalidate/)
  })
})

describe('strongEtag', () => {
  const digest = (bytes: string) => `"${createHash('sha256').update(bytes, 'utf8').digest('base64url')}"`

  it('RFC 9110 §8.8.3: the quoted base64url SHA-256 of the bytes', () => {
    expect(strongEtag('')).toBe('"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"')
    expect(strongEtag('abc')).toBe('"ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"')
    expect(strongEtag('{"fare":420}')).toMatch(/^"[A-Za-z0-9_-]{43}"$/)
  })

  it('RFC 9110 §8.8.1: the same bytes give the same tag, as a string (UTF-8) or a Uint8Array; one byte changes it', () => {
    expect(strongEtag('café')).toBe(strongEtag(new TextEncoder().encode('café')))
    expect(strongEtag('café')).toBe(digest('café'))
    expect(strongEtag(Buffer.from('fares v1'))).not.toBe(strongEtag('fares v2'))
  })

  it('throws InvalidOptionsError for a body that is neither a string nor bytes', () => {
    invalid(() => strongEtag(42 as never))
  })
})

describe('cacheHeaders', () => {
  it('RFC 9111 §5.2, RFC 9110 §8.8.3: cache-control and etag of the body, nothing else by default', () => {
    expect(cacheHeaders('fares', { ttl: '5m', grace: '1m' })).toEqual({ 'cache-control': 'public, max-age=300, stale-while-revalidate=60', etag: strongEtag('fares') })
  })

  it('RFC 9213 §2, RFC 9111 §5.1: cdn-cache-control for cdnTtl with the stale windows, and age in seconds', () => {
    expect(cacheHeaders('x', { ttl: '1m', cdnTtl: '1h', staleIfError: '1d', age: 4_999 })).toEqual({
      'cache-control': 'public, max-age=60, stale-if-error=86400',
      etag: strongEtag('x'),
      'cdn-cache-control': 'public, max-age=3600, stale-if-error=86400',
      age: '4',
    })
    expect(cacheHeaders('x', { ttl: '1m', cdnTtl: 0, mustRevalidate: true })['cdn-cache-control']).toBe('public, no-cache, must-revalidate')
  })

  it('throws InvalidOptionsError for cdnTtl on a private response, and for an invalid cdnTtl or age', () => {
    expect(invalid(() => cacheHeaders('x', { ttl: '1m', cdnTtl: '1h', visibility: 'private' })).message).toMatch(/cdnTtl .*private/)
    expect(invalid(() => cacheHeaders('x', { ttl: '1m', cdnTtl: -1 })).message).toMatch(/cdnTtl/)
    expect(invalid(() => cacheHeaders('x', { ttl: '1m', age: 'old' })).message).toMatch(/age/)
  })
})

describe('notModified', () => {
  it.each<[string, Record<string, string | string[] | undefined> | Headers, string, boolean]>([
    ['no If-None-Match', {}, '"a"', false],
    ['an empty If-None-Match', { 'if-none-match': '' }, '"a"', false],
    ['*', { 'if-none-match': '*' }, '"a"', true],
    ['the tag', { 'if-none-match': '"a"' }, '"a"', true],
    ['another tag', { 'if-none-match': '"b"' }, '"a"', false],
    ['a longer tag', { 'if-none-match': '"ab"' }, '"a"', false],
    ['the tag in a list', { 'if-none-match': '"x", "a" ,"y"' }, '"a"', true],
    ['the weak tag (weak comparison)', { 'if-none-match': 'W/"a"' }, '"a"', true],
    ['the strong tag of a weak etag', { 'if-none-match': '"a"' }, 'W/"a"', true],
    ['a tag with a comma', { 'if-none-match': '"a,b"' }, '"a,b"', true],
    ['the tag in a repeated field', { 'if-none-match': ['"x"', '"a"'] }, '"a"', true],
    ['a name in another case', { 'If-None-Match': '"a"' }, '"a"', true],
    ['a fetch Headers', new Headers({ 'if-none-match': 'W/"q", "a"' }), '"a"', true],
    ['an unquoted value', { 'if-none-match': 'a' }, '"a"', false],
  ])('RFC 9110 §13.1.2: %s', (_what, headers, etag, expected) => {
    expect(notModified(headers, etag)).toBe(expected)
  })

  it('throws InvalidOptionsError for an etag that is not an entity tag', () => {
    invalid(() => notModified({ 'if-none-match': '*' }, 'abc'))
    invalid(() => notModified({}, '"a" "b"'))
  })
})

/** An application answering `fares v<version>` with cacheHeaders, and 304 to a matching If-None-Match. */
function application(options: CacheHeadersOptions, state: { version: number; hold?: Promise<void> }) {
  return async (req: IncomingMessage): Promise<Reply> => {
    await state.hold
    const body = `fares v${state.version}`
    const headers = cacheHeaders(body, options)
    if (notModified(req.headers, headers.etag)) return { status: 304, headers: { ...headers } }
    return { headers: { ...headers, 'content-type': 'text/plain' }, body }
  }
}

describe('cacheHeaders behind the HTTP cache, over real HTTP', () => {
  let env: Mounted | undefined
  afterEach(async () => {
    await env?.close()
    env = undefined
  })

  it('RFC 9111 §5.2.2.10, RFC 5861 §3: the shared cache keeps the response for s-maxage past max-age, then answers stale-while-revalidate at once and revalidates in the background', async () => {
    env = await mount()
    const state: { version: number; hold?: Promise<void> } = { version: 1 }
    env.origin.on('/fares', application({ ttl: '60s', browserTtl: '10s', grace: '30s' }, state))
    const first = await env.request('/fares')
    expect(first.headers.get('cache-control')).toBe('public, max-age=10, s-maxage=60, stale-while-revalidate=30')
    expect(first.headers.get('etag')).toBe(strongEtag('fares v1'))
    expect(first.headers.get('cache-status')).toContain('stored')
    env.advance(45)
    const shared = await env.request('/fares')
    expect(shared.text).toBe('fares v1')
    expect(shared.headers.get('cache-status')).toMatch(/^tiercache; hit/)
    expect(env.origin.hits('/fares')).toBe(1)

    state.version = 2
    const release = gate()
    state.hold = release.promise
    env.advance(30)
    // Answered while the application still holds the revalidation.
    const stale = await env.request('/fares')
    expect(stale.text).toBe('fares v1')
    expect(stale.headers.get('cache-status')).toBe('tiercache; hit; ttl=-15; detail=stale-while-revalidate')
    while (env.origin.hits('/fares') < 2) await new Promise((resolve) => setImmediate(resolve))
    release.open()
    await env.httpCache.idle()
    const fresh = await env.request('/fares')
    expect(fresh.text).toBe('fares v2')
    expect(fresh.headers.get('etag')).toBe(strongEtag('fares v2'))
    expect(fresh.headers.get('cache-status')).toMatch(/^tiercache; hit/)
    expect(env.origin.hits('/fares')).toBe(2)
  })

  it('RFC 9110 §13.1.2, RFC 9111 §4.3.2, §4.3.1: a conditional request with the ETag gets 304 from the cache, and its revalidation gets 304 from the application', async () => {
    env = await mount()
    env.origin.on('/fares', application({ ttl: '10s' }, { version: 1 }))
    const etag = strongEtag('fares v1')
    expect((await env.request('/fares')).headers.get('etag')).toBe(etag)
    const cached = await env.request('/fares', { headers: { 'if-none-match': etag } })
    expect(cached.status).toBe(304)
    expect(cached.text).toBe('')
    expect(cached.headers.get('etag')).toBe(etag)
    expect(env.origin.hits('/fares')).toBe(1)

    env.advance(20)
    const revalidated = await env.request('/fares')
    expect(env.origin.seen('/fares')[1]?.['if-none-match']).toBe(etag)
    expect(revalidated.status).toBe(200)
    expect(revalidated.text).toBe('fares v1')
    expect(revalidated.headers.get('cache-status')).toContain('fwd-status=304')

    const direct = await request(`${env.origin.url}/fares`, { headers: { 'if-none-match': `W/"other", ${etag}` } })
    expect(direct.statusCode).toBe(304)
    expect(await direct.body.text()).toBe('')
  })

  it('RFC 9213 §2.2: a cache that honours CDN-Cache-Control keeps the response for cdnTtl, whatever Cache-Control says', async () => {
    env = await mount({ targetedFields: ['cdn-cache-control'] })
    env.origin.on('/fares', application({ ttl: '10s', cdnTtl: '5m' }, { version: 1 }))
    expect((await env.request('/fares')).headers.get('cdn-cache-control')).toBe('public, max-age=300')
    env.advance(120)
    expect((await env.request('/fares')).headers.get('cache-status')).toMatch(/^tiercache; hit/)
    expect(env.origin.hits('/fares')).toBe(1)
    env.advance(200)
    await env.request('/fares')
    expect(env.origin.hits('/fares')).toBe(2)
  })

  it('RFC 9111 §5.2.2.7: a private response is not stored by the shared cache', async () => {
    env = await mount()
    env.origin.on('/me', application({ ttl: '5m', visibility: 'private' }, { version: 1 }))
    expect((await env.request('/me')).headers.get('cache-control')).toBe('private, max-age=300')
    await env.request('/me')
    expect(env.origin.hits('/me')).toBe(2)
  })

  it('RFC 5861 §4: from a ttl policy, the shared cache answers stale-if-error within the policy grace when the application fails, not after', async () => {
    env = await mount()
    const policy = definePolicy({ policies: { fares: { ttl: '1m', grace: '5m' } } })
    const options = cacheOptionsFromPolicy(policy.decide({ policy: 'fares', role: undefined, context: undefined, now: Date.now() }), { grace: 0 })
    const app = application(options, { version: 1 })
    env.origin.on('/fares', async (req, n) => (n === 1 ? app(req) : { status: 503, body: 'down' }))
    expect((await env.request('/fares')).headers.get('cache-control')).toBe('public, max-age=60, stale-if-error=300')
    env.advance(90)
    const stale = await env.request('/fares')
    expect(stale.status).toBe(200)
    expect(stale.text).toBe('fares v1')
    expect(stale.headers.get('cache-status')).toContain('detail=stale-if-error')
    env.advance(300)
    expect((await env.request('/fares')).status).toBe(503)
  })
})
