/**
 * The Fastify plugin over real HTTP on loopback: the routes are the cache's origin. The tests every
 * middleware passes are in ./middleware-suite.ts.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpCache } from '../../src/http-cache/handler.js'
import { type HttpCachePluginOptions, httpCachePlugin } from '../../src/http-cache/middleware/fastify.js'
import { createCache } from '../../src/index.js'
import { gate } from './harness.js'
import { type Env, type Start, type TestApp, sharedMiddlewareTests, startEnv, toHeaders } from './middleware-suite.js'

/** Registers a catch-all route of `testApp` on `app`, for GET (and so HEAD), POST, PUT and DELETE. */
function scriptedRoutes(app: FastifyInstance, testApp: TestApp): void {
  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE'],
    url: '/*',
    handler: async (req, reply) => {
      const answer = await testApp.reply(req.url, { method: req.method, headers: toHeaders(req.headers), body: typeof req.body === 'string' ? req.body : '', address: req.ip })
      return reply
        .code(answer.status ?? 200)
        .headers(answer.headers ?? {})
        .send(answer.body ?? '')
    },
  })
}

/** Sets up the app in place of the default: the plugin, then the scripted catch-all. */
type Routes = (app: FastifyInstance, testApp: TestApp) => void | Promise<void>

/** A Fastify app listening on loopback: the plugin (with `options`) and the scripted catch-all, unless `routes` sets the app up. */
function fastify(options: Omit<HttpCachePluginOptions, 'httpCache' | 'cache'> = {}, routes?: Routes): Start {
  return async (testApp) => {
    const app = Fastify()
    if (routes !== undefined) await routes(app, testApp)
    else {
      await app.register(httpCachePlugin, { httpCache: testApp.httpCache, ...testApp.options, ...options })
      scriptedRoutes(app, testApp)
    }
    return { url: await app.listen({ port: 0, host: '127.0.0.1' }), close: () => app.close() }
  }
}

sharedMiddlewareTests('Fastify', fastify(), { clientAddress: true })

let env: Env | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

describe('http-cache middleware: Fastify plugin specifics', () => {
  it('a client cannot pass the cache by sending the marker field, and routes never see it', async () => {
    env = await startEnv(fastify())
    env.script.on('/m', (_asked, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `m ${n}` }))
    await env.request('/m', { headers: { 'x-tiercache-origin': 'guess' } })
    const forged = await env.request('/m', { headers: { 'x-tiercache-origin': 'guess' } })
    expect(forged.text).toBe('m 1')
    expect(forged.headers.get('cache-status')).toMatch(/^tiercache; hit/)
    expect(env.script.hits('/m')).toBe(1)
    expect(env.script.seen('/m')[0]?.headers.get('x-tiercache-origin')).toBeNull()
  })

  it('caches the routes of the scope it is registered in, and no other', async () => {
    env = await startEnv(
      fastify({}, async (app, testApp) => {
        await app.register(
          async (api) => {
            await api.register(httpCachePlugin, { httpCache: testApp.httpCache })
            scriptedRoutes(api, testApp)
          },
          { prefix: '/api' },
        )
        app.get('/plain', async (req) => (await testApp.reply(req.url, { method: req.method, headers: toHeaders(req.headers), body: '', address: req.ip })).body)
      }),
    )
    env.script.on('/api/x', (_asked, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `api ${n}` }))
    env.script.on('/plain', (_asked, n) => ({ body: `plain ${n}` }))
    await env.request('/api/x')
    expect((await env.request('/api/x')).headers.get('cache-status')).toMatch(/^tiercache; hit/)
    await env.request('/plain')
    const plain = await env.request('/plain')
    expect(plain.text).toBe('plain 2')
    expect(plain.headers.get('cache-status')).toBeNull()
    expect(env.script.hits('/api/x')).toBe(1)
  })

  it("headers that hooks before the plugin set on the reply are this request's own, also over a stored response", async () => {
    let requests = 0
    env = await startEnv(
      fastify({}, async (app, testApp) => {
        app.addHook('onRequest', async (_req, reply) => {
          reply.header('x-request-id', String(++requests))
        })
        await app.register(httpCachePlugin, { httpCache: testApp.httpCache })
        scriptedRoutes(app, testApp)
      }),
    )
    env.script.on('/id', () => ({ headers: { 'cache-control': 'max-age=60' }, body: 'id' }))
    // The hook ran for the client's request (1) and for the plugin's request to the route (2).
    expect((await env.request('/id')).headers.get('x-request-id')).toBe('1')
    const hit = await env.request('/id')
    expect(hit.headers.get('cache-status')).toMatch(/^tiercache; hit/)
    expect(hit.headers.get('x-request-id')).toBe('3')
  })

  it('`when` keeps requests away from the cache', async () => {
    env = await startEnv(fastify({ when: (request) => !request.url.startsWith('/live') }))
    env.script.on('/live', (_asked, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `live ${n}` }))
    await env.request('/live')
    const again = await env.request('/live')
    expect(again.text).toBe('live 2')
    expect(again.headers.get('cache-status')).toBeNull()
  })

  it("the app's close() waits for the HTTP cache's background work", async () => {
    // The app alone, not an Env: the Env's close() waits for the HTTP cache itself.
    const cache = createCache({ l3: false })
    const httpCache = new HttpCache({ cache })
    const app = Fastify()
    await app.register(httpCachePlugin, { httpCache })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const called = gate()
    const finish = gate()
    httpCache.idle = () => {
      called.open()
      return finish.promise
    }
    try {
      let closed = false
      const closing = app.close().then(() => void (closed = true))
      await called.promise
      await new Promise((resolve) => setImmediate(resolve))
      expect(closed).toBe(false)
      finish.open()
      await closing
    } finally {
      await cache.close()
    }
  })
})
