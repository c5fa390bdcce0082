/**
 * The fetch-handler middleware over real HTTP on loopback: a Hono app and a plain fetch handler,
 * both served by @hono/node-server. The tests every middleware passes are in ./middleware-suite.ts.
 */
import type { Server } from 'node:http'
import { type ServerType, serve } from '@hono/node-server'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { HttpCache } from '../../src/http-cache/handler.js'
import { type FetchHandler, withHttpCache } from '../../src/http-cache/middleware/fetch.js'
import { createCache } from '../../src/index.js'
import { type Reply, type Start, type TestApp, mountedOf, sharedMiddlewareTests } from './middleware-suite.js'

const NULL_BODY = new Set([204, 304])

function headersOf(record: Readonly<Record<string, string | string[]>>): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(record)) for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one)
  return headers
}

async function ask(app: TestApp, request: Request): Promise<Reply> {
  const url = new URL(request.url)
  return app.reply(url.pathname + url.search, { method: request.method, headers: request.headers, body: await request.text() })
}

/** Serves `handler(app)`, cached by `withHttpCache`, with @hono/node-server. */
const served =
  (handler: (app: TestApp) => FetchHandler): Start =>
  async (app) => {
    const fetch = withHttpCache({ httpCache: app.httpCache, ...app.options }, handler(app))
    const server = await new Promise<ServerType>((resolve) => {
      const started: ServerType = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started))
    })
    return mountedOf(server as Server)
  }

sharedMiddlewareTests(
  'Hono',
  served((testApp) => {
    const app = new Hono()
    app.all('*', async (c) => {
      const reply = await ask(testApp, c.req.raw)
      const status = reply.status ?? 200
      for (const [name, value] of Object.entries(reply.headers ?? {})) for (const one of Array.isArray(value) ? value : [value]) c.header(name, one, { append: true })
      return NULL_BODY.has(status) ? c.body(null, status as 204) : c.body(reply.body ?? '', status as 200)
    })
    return app.fetch
  }),
)

sharedMiddlewareTests(
  'a plain fetch handler',
  served((app) => async (request) => {
    const reply = await ask(app, request)
    const status = reply.status ?? 200
    return new Response(NULL_BODY.has(status) ? null : (reply.body ?? ''), { status, headers: headersOf(reply.headers ?? {}) })
  }),
)

describe('http-cache middleware: fetch handler specifics', () => {
  it("passes the runtime's other arguments (Hono's env) on to the handler, also in the background", async () => {
    const cache = createCache({ l3: false })
    let now = Date.now()
    const httpCache = new HttpCache({ cache, now: () => now })
    const tenants: string[] = []
    const cached = withHttpCache({ httpCache }, (_request: Request, env: { readonly tenant: string }) => {
      tenants.push(env.tenant)
      return new Response(env.tenant, { headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60' } })
    })
    try {
      expect(await (await cached(new Request('http://app.example/t'), { tenant: 'a' })).text()).toBe('a')
      now += 15_000
      expect(await (await cached(new Request('http://app.example/t'), { tenant: 'b' })).text()).toBe('a')
      await httpCache.idle()
      expect(tenants).toEqual(['a', 'b'])
    } finally {
      await cache.close()
    }
  })

  it('RFC 9111 §2: with baseUrl, the handler is asked under it, whatever the Host of the request', async () => {
    const cache = createCache({ l3: false })
    const asked: string[] = []
    const cached = withHttpCache({ cache, baseUrl: 'https://shop.example' }, (request) => {
      asked.push(request.url)
      return new Response('shared', { headers: { 'cache-control': 'max-age=60' } })
    })
    try {
      expect(await (await cached(new Request('http://a.example/shared?q=1'))).text()).toBe('shared')
      expect(await (await cached(new Request('http://b.example/shared?q=1'))).text()).toBe('shared')
      expect(asked).toEqual(['https://shop.example/shared?q=1'])
    } finally {
      await cache.close()
    }
  })

  it('rejects a baseUrl that is not an http(s) URL (TC_INVALID_OPTIONS)', async () => {
    const cache = createCache({ l3: false })
    try {
      expect(() => withHttpCache({ cache, baseUrl: 'shop.example' }, () => new Response('x'))).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
    } finally {
      await cache.close()
    }
  })
})
