/**
 * Where `http-cache-semantics` (or undici, or `Date.parse`) reads a response otherwise than the RFCs
 * say, and tiercache corrects it: each found by the HTTP caching conformance suite (cache-tests.fyi),
 * tested here over real HTTP on loopback, by RFC section.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { parseHttpDate } from '../../src/http-cache/http-date.js'
import { type Mounted, mount } from './harness.js'

let env: Mounted | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

/** Asks `path` twice; resolves whether the second answer came from the cache. */
async function reused(mounted: Mounted, path: string, headers: Record<string, string> = {}): Promise<boolean> {
  await mounted.request(path, { headers })
  const second = await mounted.request(path, { headers })
  return second.headers.get('cache-status')?.includes('; hit') === true
}

/** `path` answers `status` with `headers`, a body that counts the requests. */
function route(mounted: Mounted, path: string, headers: Record<string, string | string[]>, status = 200): void {
  mounted.origin.on(path, (_req, n) => ({ status, headers, body: `${path} ${n}` }))
}

describe('http-cache: corrections to the library', () => {
  it('RFC 9111 §5.2: directive names are case-insensitive', async () => {
    env = await mount()
    route(env, '/upper', { 'cache-control': 'MAX-AGE=60' })
    route(env, '/no-store', { 'cache-control': 'max-age=60, No-StOrE' })
    route(env, '/no-cache', { 'cache-control': 'max-age=60, No-CaChE' })
    expect(await reused(env, '/upper')).toBe(true)
    expect(await reused(env, '/no-store')).toBe(false)
    expect(await reused(env, '/no-cache')).toBe(false)
  })

  it('RFC 9110 §5.3: Cache-Control on two field lines is one list (it made the library throw)', async () => {
    env = await mount()
    route(env, '/two-lines', { 'cache-control': ['public', 'max-age=60'] })
    const first = await env.request('/two-lines')
    expect(first.status).toBe(200)
    expect(await reused(env, '/two-lines')).toBe(true)
  })

  it('RFC 9111 §4.2.1: of a directive given twice, the first counts', async () => {
    env = await mount()
    route(env, '/twice', { 'cache-control': 'max-age=60, max-age=0' })
    expect(await reused(env, '/twice')).toBe(true)
  })

  it('RFC 9111 §5.1: an Age that is not a non-negative integer is ignored (the library read 7200.0 as 7200)', async () => {
    env = await mount()
    route(env, '/age-float', { 'cache-control': 'max-age=3600', age: '7200.0' })
    route(env, '/age-int', { 'cache-control': 'max-age=3600', age: '7200' })
    expect(await reused(env, '/age-float')).toBe(true)
    expect(await reused(env, '/age-int')).toBe(false)
  })

  it('RFC 9111 §5.3, RFC 9110 §5.6.7: an Expires that is not an HTTP-date (though Date.parse reads it) means already expired', async () => {
    env = await mount()
    const later = new Date(Date.now() + 3_600_000)
    const imf = later.toUTCString()
    const invalid = {
      '/utc': imf.replace('GMT', 'UTC'),
      '/no-comma': imf.replace(',', ''),
      '/one-digit-hour': imf.replace(/ (\d\d):/, (_m, hour: string) => ` ${Number(hour) % 10}:`),
      '/dashes': later.toISOString().slice(0, 10),
    }
    for (const [path, expires] of Object.entries(invalid)) route(env, path, { expires })
    for (const path of Object.keys(invalid)) expect(await reused(env, path), path).toBe(false)
    const [day, date, month, year, time] = imf.split(' ') as [string, string, string, string, string]
    const weekday = { 'Sun,': 'Sunday', 'Mon,': 'Monday', 'Tue,': 'Tuesday', 'Wed,': 'Wednesday', 'Thu,': 'Thursday', 'Fri,': 'Friday', 'Sat,': 'Saturday' }[day]
    route(env, '/imf', { expires: imf })
    route(env, '/rfc850', { expires: `${weekday}, ${date}-${month}-${year.slice(2)} ${time} GMT` })
    route(env, '/asctime', { expires: `${day.slice(0, 3)} ${month} ${String(Number(date)).padStart(2, ' ')} ${time} ${year}` })
    for (const path of ['/imf', '/rfc850', '/asctime']) expect(await reused(env, path), path).toBe(true)
  })

  it('RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past century; impossible dates are none', () => {
    const now = Date.UTC(2026, 11, 4)
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37))
    expect(parseHttpDate('Thursday, 06-Nov-36 08:49:37 GMT', now)).toBe(Date.UTC(2036, 10, 6, 8, 49, 37))
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37))
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', now)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37))
    expect(parseHttpDate('Mon, 31 Feb 2026 08:49:37 GMT', now)).toBeUndefined()
    expect(parseHttpDate('Sun, 06 Nov 1994 24:00:00 GMT', now)).toBeUndefined()
  })

  it('RFC 9111 §3: any final status with explicit freshness may be stored, not only those cacheable by default', async () => {
    env = await mount()
    route(env, '/500-fresh', { 'cache-control': 'max-age=60' }, 500)
    route(env, '/499-fresh', { 'cache-control': 'max-age=60' }, 499)
    route(env, '/500-plain', {}, 500)
    expect(await reused(env, '/500-fresh')).toBe(true)
    expect(await reused(env, '/499-fresh')).toBe(true)
    expect(await reused(env, '/500-plain')).toBe(false)
  })

  it('RFC 9111 §5.2.2.3: must-understand lifts no-store for a status the cache understands, not for another', async () => {
    env = await mount()
    route(env, '/understood', { 'cache-control': 'must-understand, no-store, max-age=60' })
    route(env, '/unknown', { 'cache-control': 'must-understand, no-store, max-age=60' }, 299)
    expect(await reused(env, '/understood')).toBe(true)
    expect(await reused(env, '/unknown')).toBe(false)
  })

  it('RFC 9111 §4.2.1: a freshness past the engine\'s longest ttl is kept as long as it allows, not refused', async () => {
    env = await mount()
    route(env, '/forever', { 'cache-control': 'max-age=99999999999' })
    expect(await reused(env, '/forever')).toBe(true)
  })

  it('RFC 9111 §4.1, RFC 9110 §5.6.1: list values that differ only in whitespace around commas select one variant', async () => {
    env = await mount()
    route(env, '/vary', { 'cache-control': 'max-age=60', vary: 'accept-encoding' })
    await env.request('/vary', { headers: { 'accept-encoding': 'gzip,br' } })
    const again = await env.request('/vary', { headers: { 'accept-encoding': ' gzip ,  br' } })
    expect(again.text).toBe('/vary 1')
  })

  it('RFC 9213 §2.1: a CDN-Cache-Control that is not a Structured Field Dictionary, or whose max-age is not an Integer, is ignored', async () => {
    env = await mount({ targetedFields: ['cdn-cache-control'] })
    route(env, '/quoted', { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age="60"' })
    route(env, '/not-sf', { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60,,' })
    route(env, '/integer', { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' })
    expect(await reused(env, '/quoted')).toBe(false)
    expect(await reused(env, '/not-sf')).toBe(false)
    expect(await reused(env, '/integer')).toBe(true)
  })
})
