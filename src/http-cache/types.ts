/** The shapes the HTTP cache exchanges with its callers and with the origin. */
import type { HeaderInput, HttpHeaders } from './headers.js'

/** A request to answer, whatever the framework it came from. */
export interface HttpCacheRequest {
  /** The method, e.g. `GET`; any case. */
  readonly method: string
  /** The absolute target URL (`http://host/path?query`): the cache key's URL (RFC 9111 §2). */
  readonly url: string
  readonly headers: HeaderInput
  /** The request's content, for methods that have one (a stream, or chunks); never read for `GET` and `HEAD`. */
  readonly body?: AsyncIterable<Uint8Array> | Iterable<Uint8Array>
}

/** What the cache asks the origin: headers lower case, without hop-by-hop fields. */
export interface OriginRequest {
  readonly method: string
  readonly url: string
  readonly headers: HttpHeaders
  readonly body?: AsyncIterable<Uint8Array>
}

/** The origin's answer, with the whole body. */
export interface OriginResponse {
  readonly status: number
  readonly headers: HeaderInput
  readonly body: Uint8Array
}

/**
 * Asks the origin. It rejects when the origin cannot be reached; the cache then answers 502 (or a
 * stale response that `stale-if-error` allows).
 */
export type Origin = (request: OriginRequest) => Promise<OriginResponse>

/** The cache's answer to a request: headers lower case, with `Cache-Status`, and `Age` when stored. */
export interface HttpCacheAnswer {
  readonly status: number
  readonly headers: HttpHeaders
  /** Empty for `HEAD` and 304. */
  readonly body: Uint8Array
}
