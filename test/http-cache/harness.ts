/**
 * Real HTTP on loopback for the HTTP cache's tests: an origin the test scripts (node:http, counting
 * requests per path), and the cache mounted on a node:http server in front of it, on a clock the
 * test moves.
 */
import { type IncomingHttpHeaders, type IncomingMessage, type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/index.js'
import { HttpCache } from '../../src/http-cache/handler.js'
import { fromNodeRequest, writeNodeAnswer } from '../../src/http-cache/node.js'
import type { HttpCacheOptions } from '../../src/http-cache/options.js'
import { undiciOrigin } from '../../src/http-cache/proxy.js'

/** What the origin answers one request with. */
export interface Reply {
  readonly status?: number
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>
  readonly body?: string
}

/** The reply to the `n`th request for a path (from 1), given the request and its body as text. */
type Route = (req: IncomingMessage, n: number, body: string) => Reply | Promise<Reply>

/** A scripted origin. */
export interface TestOrigin {
  readonly url: string
  /** Answers requests for `path` (with query) with `route`; `n` counts them from 1. */
  on(path: string, route: Route): void
  /** How many requests for `path` reached the origin. */
  hits(path: string): number
  /** The headers of each request for `path`, in order. */
  seen(path: string): IncomingHttpHeaders[]
  close(): Promise<void>
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)))
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

/** Starts an origin on a free loopback port. Unscripted paths answer 404 `no route`. */
export async function startOrigin(): Promise<TestOrigin> {
  const routes = new Map<string, Route>()
  const seen = new Map<string, IncomingHttpHeaders[]>()
  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    const list = seen.get(path) ?? []
    list.push(req.headers)
    seen.set(path, list)
    const route = routes.get(path)
    const n = list.length
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => void Promise.resolve(route === undefined ? { status: 404, body: 'no route' } : route(req, n, Buffer.concat(chunks).toString())).then((reply) => {
      const headers = Object.fromEntries(Object.entries(reply.headers ?? {}).filter((entry): entry is [string, string | string[]] => entry[1] !== undefined))
      res.writeHead(reply.status ?? 200, headers)
      res.end(reply.body ?? '')
    }))
  })
  const url = await listen(server)
  return {
    url,
    on: (path, route) => void routes.set(path, route),
    hits: (path) => seen.get(path)?.length ?? 0,
    seen: (path) => seen.get(path) ?? [],
    close: () => closeServer(server),
  }
}

/** A response as the client saw it. */
export interface Seen {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

/** The cache mounted in front of an origin. */
export interface Mounted {
  readonly origin: TestOrigin
  readonly httpCache: HttpCache
  /** The view the responses are stored in (namespace `http`). */
  readonly view: Cache
  /** Requests that reached the cache's server. */
  arrived(): number
  /** Moves the cache's clock forward by `seconds`. */
  advance(seconds: number): void
  /** A request through the cache. */
  request(path: string, init?: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: string }): Promise<Seen>
  close(): Promise<void>
}

/**
 * An origin, and a cache (memory-only unless `shared.cache`) with its HTTP cache mounted on a
 * node:http server in front of it. With `shared.origin`, two mounts are two instances in front of
 * one origin; `close()` closes the cache, not a shared origin.
 */
export async function mount(options: Omit<HttpCacheOptions, 'cache'> = {}, shared: { readonly cache?: Cache; readonly origin?: TestOrigin } = {}): Promise<Mounted> {
  const origin = shared.origin ?? (await startOrigin())
  const cache = shared.cache ?? createCache({ l3: false })
  let now = Date.now()
  const httpCache = new HttpCache({ ...options, cache, now: () => now })
  const agent = new Agent()
  const ask = undiciOrigin(agent, 10_000)
  let arrived = 0
  const server = createServer((req, res) => {
    arrived++
    void httpCache.handle(fromNodeRequest(req, origin.url), ask).then((answer) => writeNodeAnswer(res, answer))
  })
  const url = await listen(server)
  return {
    origin,
    httpCache,
    view: cache.namespace('http'),
    arrived: () => arrived,
    advance: (seconds) => void (now += seconds * 1000),
    async request(path, init = {}) {
      // undici's request rather than fetch: fetch adds Cache-Control: no-cache to conditional requests.
      const response = await request(`${url}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {}, dispatcher: agent, ...(init.body === undefined ? {} : { body: init.body }) })
      const headers = new Headers()
      for (const [name, value] of Object.entries(response.headers)) for (const one of Array.isArray(value) ? value : [value ?? '']) headers.append(name, one)
      return { status: response.statusCode, headers, text: await response.body.text() }
    },
    async close() {
      await closeServer(server)
      await httpCache.idle()
      await agent.close()
      if (shared.origin === undefined) await origin.close()
      await cache.close()
    },
  }
}

/** A promise with its resolve function: the gate a test opens to order events. */
export function gate(): { readonly promise: Promise<void>; open(): void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}
