/**
 * The reverse proxy: a node:http server that answers every request through the HTTP cache, asking
 * the origin with undici. Requests and answers lose their hop-by-hop fields (RFC 9110 §7.6.1) and
 * gain `Via` (RFC 9110 §7.6.3); the origin is told the client's address and host in
 * `X-Forwarded-For` and `X-Forwarded-Host`.
 */
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { Agent, request } from 'undici'
import type { Cache } from '../cache/cache.js'
import { InvalidOptionsError, ListenFailedError } from '../errors.js'
import { HttpCache } from './handler.js'
import { field, without } from './headers.js'
import { fromNodeRequest, writeNodeAnswer } from './node.js'
import type { HttpCacheOptions } from './options.js'
import type { Origin } from './types.js'

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /** The cache whose tiers hold the responses; not closed by the proxy. */
  readonly cache: Cache
  /** The origin's base URL, `http://` or `https://`, e.g. `http://127.0.0.1:8080`. */
  readonly origin: string
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string
  /** Port to listen on; 0 picks a free one. @default 0 */
  readonly port?: number
  /** The HTTP cache's other options (namespace, targeted fields, heuristic, ...). @default its defaults */
  readonly http?: Omit<HttpCacheOptions, 'cache'>
  /** How long the origin may take to send its headers, ms. @default 30000 */
  readonly originTimeoutMs?: number
}

/** A running proxy. */
export interface RunningProxy {
  /** Where it listens, e.g. `http://127.0.0.1:4200`. */
  readonly url: string
  readonly httpCache: HttpCache
  /** Stops listening, waits for background revalidations, closes the origin's connections (not the cache). */
  close(): Promise<void>
}

const VIA = '1.1 tiercache'

/** Asks the origin at `base` with undici, on `agent`: the request's URL is taken relative to `base`. */
export function undiciOrigin(agent: Agent, headersTimeout: number): Origin {
  return async (asked) => {
    const forwarded = field(asked.headers, 'via')
    const headers = { ...without(asked.headers, ['host', 'expect']), via: forwarded === undefined ? VIA : `${forwarded}, ${VIA}` }
    const body = asked.method === 'GET' || asked.method === 'HEAD' || asked.body === undefined ? undefined : asked.body instanceof Readable ? asked.body : Readable.from(asked.body)
    const answer = await request(asked.url, {
      method: asked.method as 'GET',
      headers,
      dispatcher: agent,
      headersTimeout,
      ...(body === undefined ? {} : { body }),
    })
    // A 304 or 204, or the answer to a HEAD, has no body whatever its Content-Length says (RFC 9110
    // §6.4.1, §8.6): undici rejects reading it when Content-Length is not 0, so it is not read.
    if (asked.method === 'HEAD' || answer.statusCode === 304 || answer.statusCode === 204) {
      answer.body.dump().catch(() => {})
      return { status: answer.statusCode, headers: answer.headers as Record<string, string | string[]>, body: new Uint8Array(0) }
    }
    return { status: answer.statusCode, headers: answer.headers as Record<string, string | string[]>, body: new Uint8Array(await answer.body.arrayBuffer()) }
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/**
 * Starts the reverse proxy in front of `options.origin`, caching in `options.cache`'s tiers.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for an origin that is not an http(s) URL, and
 *   the HTTP cache's option errors; ListenFailedError (`TC_LISTEN_FAILED`) when it cannot listen
 *   (port in use, no permission, not an address of this machine), having released what it opened
 */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  let origin: URL
  try {
    origin = new URL(options.origin)
  } catch (cause) {
    throw new InvalidOptionsError(`the origin must be an http:// or https:// URL, got ${JSON.stringify(options.origin)}`, { cause })
  }
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new InvalidOptionsError(`the origin must be an http:// or https:// URL, got ${origin.protocol}`)
  const httpCache = new HttpCache({ ...options.http, cache: options.cache })
  const agent = new Agent()
  const ask = undiciOrigin(agent, options.originTimeoutMs ?? 30_000)
  const server = createServer((req, res) => {
    const asked = fromNodeRequest(req, origin.href)
    const client = req.socket.remoteAddress
    const headers = { ...asked.headers, 'x-forwarded-host': req.headers.host, ...(client === undefined ? {} : { 'x-forwarded-for': client }) }
    httpCache.handle({ ...asked, headers }, ask).then(
      (answer) => writeNodeAnswer(res, answer, { via: VIA }),
      (error: unknown) => {
        httpCache.options.onError(error)
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-status': `${httpCache.options.name}; detail=internal-error` })
        res.end('internal error\n')
      },
    )
  })
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 0
  try {
    await listen(server, host, port)
  } catch (error) {
    await agent.close()
    const code = (error as NodeJS.ErrnoException).code
    const reasons: Readonly<Record<string, string>> = {
      EADDRINUSE: 'the port is in use by another process',
      EACCES: 'this process may not use the port (ports below 1024 need privileges)',
      EADDRNOTAVAIL: 'the host is not an address of this machine',
    }
    const reason = reasons[code ?? '']
    if (reason === undefined) throw error
    throw new ListenFailedError(`cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${reason}`, { cause: error })
  }
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${shown}:${address.port}`,
    httpCache,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      })
      await httpCache.idle()
      await agent.close()
    },
  }
}
