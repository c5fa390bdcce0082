/** node:http glue: a request of `node:http` as the cache's, and the cache's answer written back. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HttpCacheAnswer, HttpCacheRequest } from './types.js'

/**
 * `req` as a request of the HTTP cache, its target resolved against `base` (e.g. the origin's URL,
 * `http://127.0.0.1:8080`): the cache key's URL. The body is the message itself, read only for
 * methods other than `GET` and `HEAD`.
 */
export function fromNodeRequest(req: IncomingMessage, base: string): HttpCacheRequest {
  return { method: req.method ?? 'GET', url: new URL(req.url ?? '/', base).href, headers: req.headers, body: req }
}

/** Writes `answer` to `res`, with `extra` header fields beside its own. */
export function writeNodeAnswer(res: ServerResponse, answer: HttpCacheAnswer, extra: Readonly<Record<string, string>> = {}): void {
  res.writeHead(answer.status, { ...answer.headers, ...extra })
  res.end(answer.body)
}
