/**
 * What every middleware must do, written once: each framework's test file mounts a scripted
 * application with its middleware (a `Start`) and calls `sharedMiddlewareTests` with it. The tests
 * go over real HTTP on loopback and count how often the application's handler runs.
 */
import type { IncomingHttpHeaders, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { HttpCache } from '../../src/http-cache/handler.js'
import { createCache } from '../../src/index.js'
import { gate } from './harness.js'

/** What the handler answers one request with. */
export interface Reply {
  readonly status?: number
  readonly headers?: Readonly<Record<string, string | string[]>>
  readonly body?: string
}

/** What reached the application's handler. */
export interface Asked {
  readonly method: string
  readonly headers: Headers
  readonly body: string
  /** The client's address as the application reads it, where the framework tells it. */
  readonly address?: string | undefined
}

type Route = (asked: Asked, n: number) => Reply | Promise<Reply>

/** The application's routes, scripted per test; it records every request that reached the handler. */
export class Script {
  private readonly routes = new Map<string, Route>()
  private readonly asked = new Map<string, Asked[]>()

  on(path: string, route: Route): void {
    this.routes.set(path, route)
  }

  /** How many requests for `path` (with query) ran the handler. */
  hits(path: string): number {
    return this.seen(path).length
  }

  seen(path: string): Asked[] {
    return this.asked.get(path) ?? []
  }

  /** The handler's answer to a request for `path` (with query); unscripted paths answer 404 `no route`. */
  reply(path: string, asked: Asked): Promise<Reply> {
    const list = this.asked.get(path) ?? []
    list.push(asked)
    this.asked.set(path, list)
    const route = this.routes.get(path)
    return Promise.resolve(route === undefined ? { status: 404, body: 'no route' } : route(asked, list.length))
  }
}

/** The application a framework is to mount: the HTTP cache to put in front of it, and its scripted handler. */
export interface TestApp {
  readonly httpCache: HttpCache
  /** The store under `httpCache`, for a middleware given `cache` rather than `httpCache`. */
  readonly cache: Cache
  /** Middleware options every framework takes. */
  readonly options: { readonly baseUrl?: string }
  /** Called by the framework's handler with the path (and query) and the request it got. */
  reply(path: string, asked: Asked): Promise<Reply>
}

/** A framework's server on loopback. `close()` stops it; the suite then waits for the cache's background work. */
export interface Mounted {
  readonly url: string
  close(): Promise<void>
}

/** Mounts `app` with one framework and its middleware, listening on loopback. */
export type Start = (app: TestApp) => Promise<Mounted>

/** A header list of node's or undici's shape as `Headers`. */
export function toHeaders(record: Readonly<Record<string, string | string[] | undefined>> | IncomingHttpHeaders): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(record)) for (const one of Array.isArray(value) ? value : [value ?? '']) headers.append(name, one)
  return headers
}

/** A node:http server that listens on loopback, as `Mounted`; `close()` also ends its kept-alive connections. */
export function mountedOf(server: Server): Mounted {
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Listens with a node:http server on a free loopback port. */
export function listenServer(server: Server): Promise<Mounted> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(mountedOf(server))))
}

/** A response as the client saw it. */
export interface Seen {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

export interface Env {
  readonly script: Script
  readonly httpCache: HttpCache
  readonly cache: Cache
  /** Moves the cache's clock forward by `seconds`. */
  advance(seconds: number): void
  request(path: string, init?: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: string }): Promise<Seen>
  close(): Promise<void>
}

/** A memory-only cache on a clock the test moves, and the scripted application mounted by `start`. */
export async function startEnv(start: Start, options: TestApp['options'] = {}): Promise<Env> {
  const script = new Script()
  const cache = createCache({ l3: false })
  let now = Date.now()
  const httpCache = new HttpCache({ cache, now: () => now })
  const mounted = await start({ httpCache, cache, options, reply: (path, asked) => script.reply(path, asked) })
  const agent = new Agent()
  return {
    script,
    httpCache,
    cache,
    advance: (seconds) => void (now += seconds * 1000),
    async request(path, init = {}) {
      // undici's request rather than fetch: fetch adds Cache-Control: no-cache to conditional requests.
      const response = await request(`${mounted.url}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {}, dispatcher: agent, ...(init.body === undefined ? {} : { body: init.body }) })
      return { status: response.statusCode, headers: toHeaders(response.headers), text: await response.body.text() }
    },
    async close() {
      await mounted.close()
      await httpCache.idle()
      await agent.close()
      await cache.close()
    },
  }
}

/** What a framework can do that others cannot, and the shared tests check where it can. */
export interface Traits {
  /** The handler is told the client's address (over the request the cache built). */
  readonly clientAddress?: boolean
}

/** The tests every middleware must pass, in a `describe` named `http-cache middleware: ${name}`. */
export function sharedMiddlewareTests(name: string, start: Start, traits: Traits = {}): void {
  describe(`http-cache middleware: ${name}`, () => {
    // The running test's Env, closed after it whatever the outcome.
    let open: Env | undefined
    afterEach(async () => {
      await open?.close()
      open = undefined
    })
    const started = async (options: TestApp['options'] = {}): Promise<Env> => (open = await startEnv(start, options))

    it('RFC 9111 §3, §4: a storable response is stored and answered from the cache without running the handler again', async () => {
      const env = await started()
      env.script.on('/page?id=1', (_asked, n) => ({ headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }, body: `page ${n}` }))
      const first = await env.request('/page?id=1')
      expect(first.status).toBe(200)
      expect(first.text).toBe('page 1')
      // Express adds a charset; the stored response keeps whatever the handler's framework sent.
      expect(first.headers.get('content-type')).toMatch(/^text\/plain(;|$)/)
      const second = await env.request('/page?id=1')
      expect(second.text).toBe('page 1')
      expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'))
      expect(env.script.hits('/page?id=1')).toBe(1)
      // The handler ran on a request the cache built, with the client's address.
      if (traits.clientAddress === true) expect(env.script.seen('/page?id=1')[0]?.address).toBe('127.0.0.1')
      // Another query is another resource.
      expect((await env.request('/page?id=2')).status).toBe(404)
    })

    it('RFC 9211 §2, RFC 9111 §5.1: Cache-Status tells a stored miss from a hit, and Age grows with the time stored', async () => {
      const env = await started()
      env.script.on('/aged', () => ({ headers: { 'cache-control': 'max-age=60' }, body: 'aged' }))
      const first = await env.request('/aged')
      expect(first.headers.get('cache-status')).toBe('tiercache; fwd=miss; fwd-status=200; ttl=60; stored')
      expect(first.headers.get('age')).toBe('0')
      env.advance(25)
      const later = await env.request('/aged')
      expect(later.headers.get('cache-status')).toBe('tiercache; hit; ttl=35')
      expect(later.headers.get('age')).toBe('25')
      expect(env.script.hits('/aged')).toBe(1)
    })

    it('RFC 9111 §4.1: Vary stores one variant per value of the selecting field', async () => {
      const env = await started()
      env.script.on('/lang', (asked) => ({ headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' }, body: `lang ${String(asked.headers.get('accept-language'))}` }))
      const lang = async (value: string): Promise<Seen> => env.request('/lang', { headers: { 'accept-language': value } })
      expect((await lang('en')).text).toBe('lang en')
      const fr = await lang('fr')
      expect(fr.text).toBe('lang fr')
      expect(fr.headers.get('cache-status')).toContain('fwd=vary-miss')
      expect((await lang('en')).text).toBe('lang en')
      expect((await lang('fr')).headers.get('cache-status')).toMatch(/^tiercache; hit/)
      expect(env.script.hits('/lang')).toBe(2)
    })

    it('RFC 9111 §4.3.2: a client whose If-None-Match matches the stored response gets a 304 from the cache', async () => {
      const env = await started()
      env.script.on('/tagged', () => ({ headers: { 'cache-control': 'max-age=60', etag: '"t1"' }, body: 'tagged' }))
      await env.request('/tagged')
      const current = await env.request('/tagged', { headers: { 'if-none-match': '"t1"' } })
      expect(current.status).toBe(304)
      expect(current.text).toBe('')
      expect(current.headers.get('etag')).toBe('"t1"')
      expect(current.headers.get('content-length')).toBeNull()
      expect(current.headers.get('cache-status')).toMatch(/^tiercache; hit/)
      expect((await env.request('/tagged', { headers: { 'if-none-match': '"other"' } })).status).toBe(200)
      expect(env.script.hits('/tagged')).toBe(1)
    })

    it("RFC 9111 §4.3.1: a stale response is validated with the stored validator, not the client's, on a request built by the cache", async () => {
      const env = await started()
      env.script.on('/v', (asked, n) =>
        asked.headers.get('if-none-match') === '"v1"' ? { status: 304, headers: { 'cache-control': 'max-age=60', etag: '"v1"' } } : { headers: { 'cache-control': 'max-age=10', etag: '"v1"' }, body: `one ${n}` },
      )
      await env.request('/v')
      env.advance(11)
      // The client's own validator is not the one the handler is asked with.
      const validated = await env.request('/v', { headers: { 'if-none-match': '"client"' } })
      expect(env.script.seen('/v')[1]?.headers.get('if-none-match')).toBe('"v1"')
      expect(validated.status).toBe(200)
      expect(validated.text).toBe('one 1')
      expect(validated.headers.get('cache-status')).toBe('tiercache; fwd=stale; fwd-status=304; ttl=60; stored')
    })

    it('RFC 9110 §9.3.2: HEAD is answered from a stored GET without running the handler', async () => {
      const env = await started()
      env.script.on('/h', () => ({ headers: { 'cache-control': 'max-age=60', 'x-kind': 'stored' }, body: 'the body' }))
      await env.request('/h')
      const head = await env.request('/h', { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.text).toBe('')
      expect(head.headers.get('content-length')).toBe('8')
      expect(head.headers.get('x-kind')).toBe('stored')
      expect(head.headers.get('cache-status')).toMatch(/^tiercache; hit/)
      expect(env.script.hits('/h')).toBe(1)
    })

    it('RFC 9111 §3, §5.2.2.5, §5.2.2.7: private and no-store responses are not stored', async () => {
      const env = await started()
      env.script.on('/private', (_asked, n) => ({ headers: { 'cache-control': 'private, max-age=60' }, body: `mine ${n}` }))
      env.script.on('/nostore', (_asked, n) => ({ headers: { 'cache-control': 'no-store' }, body: `fresh ${n}` }))
      await env.request('/private')
      const again = await env.request('/private')
      expect(again.text).toBe('mine 2')
      expect(again.headers.get('cache-status')).toBe('tiercache; fwd=miss; fwd-status=200')
      await env.request('/nostore')
      expect((await env.request('/nostore')).text).toBe('fresh 2')
      expect(env.script.hits('/private')).toBe(2)
      expect(env.script.hits('/nostore')).toBe(2)
    })

    it('RFC 9111 §4.4: a POST reaches the handler with its body and invalidates the stored GET', async () => {
      const env = await started()
      let item = 'old'
      env.script.on('/item', (asked) => {
        if (asked.method === 'POST') item = asked.body
        return asked.method === 'POST' ? { status: 204 } : { headers: { 'cache-control': 'max-age=60' }, body: `item ${item}` }
      })
      await env.request('/item')
      expect((await env.request('/item')).text).toBe('item old')
      const posted = await env.request('/item', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'new' })
      expect(posted.status).toBe(204)
      expect(posted.headers.get('cache-status')).toBe('tiercache; fwd=method; fwd-status=204')
      expect(env.script.seen('/item').map((asked) => asked.method)).toEqual(['GET', 'POST'])
      const after = await env.request('/item')
      expect(after.text).toBe('item new')
      expect(after.headers.get('cache-status')).toContain('fwd=miss')
    })

    it('RFC 5861 §3: stale-while-revalidate answers at once and runs the handler in the background', async () => {
      const env = await started()
      const reached = gate()
      const release = gate()
      env.script.on('/swr', async (_asked, n) => {
        if (n === 2) {
          reached.open()
          await release.promise
        }
        return { headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60' }, body: `body ${n}` }
      })
      await env.request('/swr')
      env.advance(15)
      // Answered while the handler still holds the revalidation.
      const stale = await env.request('/swr')
      expect(stale.text).toBe('body 1')
      expect(stale.headers.get('cache-status')).toBe('tiercache; hit; ttl=-5; detail=stale-while-revalidate')
      await reached.promise
      release.open()
      await env.httpCache.idle()
      const fresh = await env.request('/swr')
      expect(fresh.text).toBe('body 2')
      expect(fresh.headers.get('cache-status')).toMatch(/^tiercache; hit/)
      expect(env.script.hits('/swr')).toBe(2)
    })

    it('RFC 9111 §3: a public response keeps each of its Set-Cookie fields when stored', async () => {
      const env = await started()
      env.script.on('/cookies', () => ({ headers: { 'cache-control': 'public, max-age=60', 'set-cookie': ['a=1', 'b=2'] }, body: 'cookies' }))
      await env.request('/cookies')
      const hit = await env.request('/cookies')
      expect(hit.headers.get('cache-status')).toMatch(/^tiercache; hit/)
      expect(hit.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    })

    it('RFC 9111 §2: with baseUrl, requests for other Host values share the stored response', async () => {
      const env = await started({ baseUrl: 'https://shop.example' })
      env.script.on('/shared', (_asked, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `shared ${n}` }))
      await env.request('/shared', { headers: { host: 'a.example' } })
      expect((await env.request('/shared', { headers: { host: 'b.example' } })).text).toBe('shared 1')
      expect(env.script.hits('/shared')).toBe(1)
    })
  })
}
