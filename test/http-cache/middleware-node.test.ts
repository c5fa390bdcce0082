/**
 * The node:http, Express and Connect middleware over real HTTP on loopback: the application is the
 * cache's origin. The tests every middleware passes are in ./middleware-suite.ts.
 */
import { type IncomingMessage, type RequestListener, type ServerResponse, createServer } from 'node:http'
import connect from 'connect'
import express from 'express'
import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { httpCacheHandler, httpCacheMiddleware } from '../../src/http-cache/middleware/node.js'
import { createCache } from '../../src/index.js'
import { type Reply, type Start, type TestApp, listenServer, sharedMiddlewareTests, startEnv, toHeaders } from './middleware-suite.js'

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}

/** `app`'s reply to `req` at `path`, the body read from the stream unless a parser already did. */
async function ask(app: TestApp, req: IncomingMessage, path: string, address: string | undefined, body?: string): Promise<Reply> {
  return app.reply(path, { method: req.method ?? 'GET', headers: toHeaders(req.headers), body: body ?? (await readBody(req)), address })
}

const frameworks: readonly (readonly [string, Start])[] = [
  [
    'node:http',
    (app) =>
      listenServer(
        createServer(
          httpCacheHandler({ httpCache: app.httpCache, ...app.options }, (req, res) => {
            void ask(app, req, req.url ?? '/', req.socket.remoteAddress).then((reply) => {
              res.writeHead(reply.status ?? 200, reply.headers ?? {})
              res.end(reply.body ?? '')
            })
          }),
        ),
      ),
  ],
  [
    'Express',
    (testApp) => {
      const app = express()
      app.use(httpCacheMiddleware({ httpCache: testApp.httpCache, ...testApp.options }))
      // A body parser after the cache, where it belongs.
      app.use(express.text({ type: '*/*' }))
      app.use(async (req, res) => {
        const reply = await ask(testApp, req, req.originalUrl, req.ip, typeof req.body === 'string' ? req.body : '')
        res
          .status(reply.status ?? 200)
          .set(reply.headers ?? {})
          .send(reply.body ?? '')
      })
      return listenServer(createServer(app))
    },
  ],
  [
    'Connect',
    (testApp) => {
      const app = connect()
      app.use(httpCacheMiddleware({ httpCache: testApp.httpCache, app, ...testApp.options }))
      app.use((req: IncomingMessage & { originalUrl?: string }, res) => {
        void ask(testApp, req, req.originalUrl ?? req.url ?? '/', req.socket.remoteAddress).then((reply) => {
          // The progressive API, and the body in two writes, as a streaming handler would.
          res.statusCode = reply.status ?? 200
          for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value)
          const body = reply.body ?? ''
          res.write(body.slice(0, 2))
          res.end(body.slice(2))
        })
      })
      return listenServer(createServer(app))
    },
  ],
]

for (const [name, start] of frameworks) sharedMiddlewareTests(name, start, { clientAddress: true })

/** Runs `run` against the app `build` makes on a fresh memory-only cache, served on loopback; then closes both. */
async function withApp(build: (cache: Cache) => RequestListener, run: (url: string) => Promise<void>): Promise<void> {
  const cache = createCache({ l3: false })
  const mounted = await listenServer(createServer(build(cache)))
  try {
    await run(mounted.url)
  } finally {
    await mounted.close()
    await cache.close()
  }
}

describe('http-cache middleware: Express and Connect specifics', () => {
  it('RFC 9111 §3: in an Express sub-app mounted on a path, the origin requests run through the top-level app', async () => {
    const env = await startEnv(async (testApp) => {
      const shop = express()
      shop.use(httpCacheMiddleware({ httpCache: testApp.httpCache }))
      shop.get('/items', async (req, res) => {
        const reply = await ask(testApp, req, req.originalUrl, req.ip, '')
        res.set(reply.headers ?? {}).send(reply.body)
      })
      const app = express()
      app.use('/shop', shop)
      return listenServer(createServer(app))
    })
    try {
      env.script.on('/shop/items', (_asked, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `items ${n}` }))
      expect((await env.request('/shop/items')).text).toBe('items 1')
      const again = await env.request('/shop/items')
      expect(again.text).toBe('items 1')
      expect(again.headers.get('cache-status')).toMatch(/^tiercache; hit/)
      expect(env.script.hits('/shop/items')).toBe(1)
    } finally {
      await env.close()
    }
  })

  it("headers that middleware before the cache set are this request's own, also over a stored response", async () => {
    let requests = 0
    const app = (cache: Cache): RequestListener => {
      const app = express()
      app.use((_req, res, next) => {
        res.setHeader('x-request-id', String(++requests))
        next()
      })
      app.use(httpCacheMiddleware({ cache }))
      app.get('/id', (_req, res) => {
        res.set('cache-control', 'max-age=60').send('id')
      })
      return app
    }
    await withApp(app, async (url) => {
      // The middleware ran for the client's request (1) and for the cache's run of the app (2).
      expect((await fetch(`${url}/id`)).headers.get('x-request-id')).toBe('1')
      const hit = await fetch(`${url}/id`)
      expect(hit.headers.get('cache-status')).toMatch(/^tiercache; hit/)
      expect(hit.headers.get('x-request-id')).toBe('3')
    })
  })

  it('a body parser before the middleware fails an unsafe request (TC_INTERNAL) rather than forward it without its body', async () => {
    let ran = 0
    let failure: unknown
    const app = (cache: Cache): RequestListener => {
      const app = express()
      app.use(express.text({ type: '*/*' }))
      app.use(httpCacheMiddleware({ cache }))
      app.use((_req, res) => {
        ran++
        res.send('ran')
      })
      app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        failure = error
        res.status(500).send('failed')
      })
      return app
    }
    await withApp(app, async (url) => {
      const posted = await fetch(`${url}/x`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'data' })
      expect(posted.status).toBe(500)
      expect(failure).toMatchObject({ code: 'TC_INTERNAL' })
      expect(ran).toBe(0)
      // A GET has no body to lose: it is cached as usual.
      expect((await fetch(`${url}/x`)).headers.get('cache-status')).toContain('fwd=miss')
    })
  })

  it('Connect without options.app hands TC_INTERNAL to next(error)', async () => {
    let failure: unknown
    const app = (cache: Cache): RequestListener => {
      const app = connect()
      app.use(httpCacheMiddleware({ cache }))
      app.use((error: unknown, _req: IncomingMessage, res: ServerResponse, _next: (error?: unknown) => void) => {
        failure = error
        res.statusCode = 500
        res.end('failed')
      })
      return app
    }
    await withApp(app, async (url) => {
      expect((await fetch(`${url}/x`)).status).toBe(500)
      expect(failure).toMatchObject({ code: 'TC_INTERNAL' })
    })
  })
})
