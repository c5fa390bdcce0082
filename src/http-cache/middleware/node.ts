/**
 * Whole-response caching for node:http handlers and Express/Connect apps: the application itself is
 * the HTTP cache's origin. Each origin request (a miss, a validation, a background revalidation,
 * long after the client that caused it was answered) runs the application on a request built afresh
 * from what the cache asks, so the handler sees the cache's conditional headers, not the client's,
 * and its response is captured in memory rather than sent.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { IncomingMessage as Message, ServerResponse as Response } from 'node:http'
import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { InternalError } from '../../errors.js'
import type { HttpCacheAnswer, HttpCacheRequest, Origin, OriginRequest, OriginResponse } from '../types.js'
import { type HttpCacheSource, cacheOf, parseBaseUrl } from './fetch.js'

/** A node:http request listener, e.g. the callback of `http.createServer`, or an Express or Connect app. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void

/** Express/Connect middleware; `next(error)` hands an error to the framework's error handling. */
export type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void

/** An application run on a whole request: an Express or Connect app (`next` is its fall-through), or a listener. */
export type NodeApp = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void

/** Options of {@link httpCacheHandler}. */
export type NodeHttpCacheOptions = HttpCacheSource & {
  /**
   * The scheme and authority the cache keys responses under, e.g. `https://shop.example`, so that a
   * client cannot multiply the stored copies by sending other `Host` values.
   * @default from the request: `https` on a TLS socket, else `http`, and its `Host` field
   */
  readonly baseUrl?: string
}

/** Options of {@link httpCacheMiddleware}. */
export type HttpCacheMiddlewareOptions = NodeHttpCacheOptions & {
  /**
   * The top-level application the origin requests run through (the one given to `http.createServer`).
   * @default Express's `req.app` (its outermost parent, for a mounted sub-app); required for Connect
   */
  readonly app?: NodeApp
}

/** The socket facts an application may read of its client: kept from the request that asked, for the origin requests it causes. */
interface Peer {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly encrypted: boolean
}

/** Marks the requests a middleware makes to its own application, so that it lets them through; not forgeable by clients. */
const FROM_CACHE = Symbol('tiercache.http-cache.origin-request')
type Marked = IncomingMessage & { [FROM_CACHE]?: object }

/**
 * A socket under a request that never crossed the network: it tells the client's address, and drops
 * what is written to it (the response is captured above it, at `write` and `end`).
 */
class PeerSocket extends Duplex {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly encrypted: boolean | undefined

  constructor(peer: Peer) {
    super({ read() {}, write: (_chunk, _encoding, done) => done() })
    this.remoteAddress = peer.remoteAddress
    this.remotePort = peer.remotePort
    if (peer.encrypted) this.encrypted = true
  }

  setTimeout(): this {
    return this
  }

  setNoDelay(): this {
    return this
  }

  setKeepAlive(): this {
    return this
  }
}

function peerOf(req: IncomingMessage): Peer {
  const socket = req.socket as Socket & { readonly encrypted?: boolean }
  return { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, encrypted: socket.encrypted === true }
}

async function collect(body: AsyncIterable<Uint8Array> | undefined): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0)
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks)
}

/** The request the cache asks, as a node:http request with `body` already in it and its own socket. */
function messageOf(asked: OriginRequest, body: Buffer, peer: Peer): IncomingMessage {
  const target = new URL(asked.url)
  const req = new Message(new PeerSocket(peer) as unknown as Socket)
  const headers: IncomingHttpHeaders = { ...asked.headers }
  // The cache drops Transfer-Encoding (hop by hop); body parsers need a length to know there is a body.
  if (body.length > 0 && headers['content-length'] === undefined) headers['content-length'] = String(body.length)
  req.method = asked.method
  req.url = target.pathname + target.search
  req.httpVersion = '1.1'
  req.httpVersionMajor = 1
  req.httpVersionMinor = 1
  req.headers = headers
  req.rawHeaders = Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value.flatMap((one) => [name, one]) : [name, String(value)]))
  if (body.length > 0) req.push(body)
  req.push(null)
  req.complete = true
  return req
}

function chunkBytes(chunk: unknown, encoding: unknown): Buffer | undefined {
  if (typeof chunk === 'string') return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  if (chunk instanceof Uint8Array) return Buffer.from(chunk)
  return undefined
}

/**
 * A response for `req` whose status, headers and body are captured when the application ends it.
 * The capture is in own `write` and `end` properties, which survive Express and Connect replacing
 * the response's prototype, and which middleware that wraps them (compression) wraps in turn.
 */
function capturedResponse(req: IncomingMessage, now: () => number): { readonly res: ServerResponse; readonly done: Promise<OriginResponse> } {
  const res = new Response(req)
  res.assignSocket(req.socket)
  // With a header map present, writeHead(status, fields) merges its fields into it, so getHeaders() sees them.
  res.setHeader('x-tiercache-capture', '1')
  res.removeHeader('x-tiercache-capture')
  const chunks: Buffer[] = []
  const write = Response.prototype.write as (this: ServerResponse, ...args: unknown[]) => boolean
  const end = Response.prototype.end as (this: ServerResponse, ...args: unknown[]) => ServerResponse
  const done = new Promise<OriginResponse>((resolve, reject) => {
    let ended = false
    res.once('close', () => {
      if (!ended) reject(new InternalError('the application closed the response without ending it'))
    })
    Object.assign(res, {
      write(this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
        const bytes = chunkBytes(chunk, rest[0])
        if (bytes !== undefined) chunks.push(bytes)
        return write.call(this, chunk, ...rest)
      },
      end(this: ServerResponse, ...args: unknown[]): ServerResponse {
        if (ended) return this
        ended = true
        const bytes = typeof args[0] === 'function' ? undefined : chunkBytes(args[0], args[1])
        if (bytes !== undefined) chunks.push(bytes)
        const headers = { ...this.getHeaders() }
        // Node writes Date itself, below getHeaders(); the stored response keeps one (RFC 9110 §6.6.1).
        if (this.sendDate && headers['date'] === undefined) headers['date'] = new Date(now()).toUTCString()
        resolve({ status: this.statusCode, headers, body: Buffer.concat(chunks) })
        return end.apply(this, args)
      },
    })
  })
  return { res, done }
}

/**
 * Runs `app` on the request the cache asks and captures its response.
 * @throws InternalError when the application closes the response without ending it, and what `app` throws
 */
async function runApp(app: NodeApp, asked: OriginRequest, peer: Peer, now: () => number, mark?: object): Promise<OriginResponse> {
  const req: Marked = messageOf(asked, await collect(asked.body), peer)
  if (mark !== undefined) req[FROM_CACHE] = mark
  const { res, done } = capturedResponse(req, now)
  app(req, res)
  return done
}

/** The absolute URL the cache keys `req` under, or undefined when it cannot be made (a malformed `Host`). */
function keyUrl(req: IncomingMessage, baseUrl: string | undefined): string | undefined {
  const path = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/'
  const base = baseUrl ?? `${(req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`
  try {
    return new URL(path, base).href
  } catch {
    return undefined
  }
}

/** True when `req` has content that something before the cache already read. */
function bodyAlreadyRead(req: IncomingMessage): boolean {
  const length = Number(req.headers['content-length'] ?? 0)
  return req.readableEnded && (length > 0 || req.headers['transfer-encoding'] !== undefined)
}

/**
 * Writes `answer` to `res`. Fields that middleware before the cache already set on `res` are this
 * request's own (a request id, CORS for this client): they win over the stored ones.
 */
function writeAnswer(res: ServerResponse, answer: HttpCacheAnswer): void {
  res.writeHead(answer.status, Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !res.hasHeader(name))))
  res.end(answer.body)
}

function asCacheRequest(req: IncomingMessage, url: string): HttpCacheRequest {
  return { method: req.method ?? 'GET', url, headers: req.headers, body: req }
}

/**
 * A node:http request listener that answers through a shared HTTP cache (RFC 9111) in front of
 * `handler`: stored responses are answered without running it, with `Cache-Status` (RFC 9211) and
 * `Age`; misses, validations and background revalidations (`stale-while-revalidate`) run it on a
 * request built from what the cache asks (same path and query, the cache's headers, the client's
 * address), capturing its response; other methods run it and then invalidate (RFC 9111 §4.4).
 * The whole body is buffered, both ways.
 *
 * An unexpected failure of the cache (not of the handler: its 5xx pass through) is told to
 * `onError` and answered 500.
 * @example http.createServer(httpCacheHandler({ cache }, app)).listen(3000)
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for invalid HTTP cache options or `baseUrl`
 * @see RFC 9111, docs/http-middleware.md
 */
export function httpCacheHandler(options: NodeHttpCacheOptions, handler: NodeHandler): NodeHandler {
  const httpCache = cacheOf(options)
  const baseUrl = parseBaseUrl(options.baseUrl)?.origin
  return (req, res) => {
    const url = keyUrl(req, baseUrl)
    if (url === undefined) return handler(req, res)
    const peer = peerOf(req)
    const origin: Origin = (asked) => runApp(handler, asked, peer, httpCache.options.now)
    httpCache.handle(asCacheRequest(req, url), origin).then(
      (answer) => writeAnswer(res, answer),
      (error: unknown) => {
        httpCache.options.onError(error)
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        res.end('internal error\n')
      },
    )
  }
}

/** The outermost application above Express's `req.app` (a mounted sub-app knows its `parent`). */
function expressRoot(req: IncomingMessage): NodeApp | undefined {
  let app = (req as { app?: unknown }).app
  if (typeof app !== 'function') return undefined
  for (let parent = (app as { parent?: unknown }).parent; typeof parent === 'function'; parent = (parent as { parent?: unknown }).parent) app = parent
  return app as NodeApp
}

/**
 * Express/Connect middleware that caches the whole responses of what comes after it (RFC 9111).
 * Express and Connect cannot run the rest of a chain on another request, so an origin request runs
 * the top-level application from the start on a request built from what the cache asks (path and
 * query as the client sent them, the cache's headers, the client's address), marked so that this
 * middleware lets it through: the middleware before this one run for it too.
 *
 * Put it before body parsers: it forwards the body of unsafe methods, and a body already read
 * fails the request with InternalError (`TC_INTERNAL`), through `next(error)`. Failures of the
 * cache and a missing application (Connect without `options.app`) go to `next(error)` as well.
 * @example app.use(httpCacheMiddleware({ cache })) // Express; Connect: httpCacheMiddleware({ cache, app })
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for invalid HTTP cache options or `baseUrl`
 * @see RFC 9111, docs/http-middleware.md
 */
export function httpCacheMiddleware(options: HttpCacheMiddlewareOptions): NodeMiddleware {
  const httpCache = cacheOf(options)
  const baseUrl = parseBaseUrl(options.baseUrl)?.origin
  const mark = {}
  return (req, res, next) => {
    if ((req as Marked)[FROM_CACHE] === mark) return next()
    const url = keyUrl(req, baseUrl)
    if (url === undefined) return next()
    const app = options.app ?? expressRoot(req)
    if (app === undefined) return next(new InternalError('httpCacheMiddleware needs options.app (the top-level application) outside Express'))
    const method = (req.method ?? 'GET').toUpperCase()
    if (method !== 'GET' && method !== 'HEAD' && bodyAlreadyRead(req)) {
      return next(new InternalError('httpCacheMiddleware must come before the middleware that reads request bodies: this body was already read'))
    }
    const peer = peerOf(req)
    const origin: Origin = (asked) => runApp(app, asked, peer, httpCache.options.now, mark)
    httpCache.handle(asCacheRequest(req, url), origin).then(
      (answer) => writeAnswer(res, answer),
      (error: unknown) => next(error),
    )
  }
}
