/**
 * Answers for requests that Node's HTTP parser refuses before Fastify routes them (Fastify's
 * `clientErrorHandler`): the same `{ error: { code, message } }` body as every other error, instead
 * of Fastify's default `{"error":"Bad Request","message":"Client Error"}`.
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HeadersTooLargeError, MalformedRequestError, RequestTimeoutError, type TiercacheError } from '../errors.js'
import { errorBody } from './errors.js'

/** What Node passes with a `clientError`: `code` is llhttp's `HPE_*` or Node's `ERR_*`. */
type ClientError = Error & { readonly code?: string }

/** The catalogue error for a parser failure. Messages name the problem, never the bytes sent. */
export function fromClientError(error: ClientError): TiercacheError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new HeadersTooLargeError('the request line and headers are larger than the server reads (16 KiB)', { cause: error })
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_REQUEST_HEADERS_TIMEOUT':
      return new RequestTimeoutError('the request did not arrive in time', { cause: error })
    case 'HPE_INVALID_METHOD':
      return new MalformedRequestError('unknown HTTP method', { cause: error })
    case 'HPE_INVALID_URL':
      return new MalformedRequestError('the request target is not a valid URL: send non-ASCII bytes percent-encoded', { cause: error })
    case 'HPE_INVALID_HEADER_TOKEN':
      return new MalformedRequestError('a header name or value holds bytes HTTP does not allow there', { cause: error })
    default:
      return new MalformedRequestError('the request is not valid HTTP/1.1', { cause: error })
  }
}

/**
 * The `clientErrorHandler` of the app: writes the coded answer and closes the connection (the parser
 * cannot find where the next request starts), as Node and Fastify do. A reset connection gets nothing.
 */
export function clientErrorHandler(this: FastifyInstance, error: ClientError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const coded = fromClientError(error)
  this.log.debug({ code: coded.code, parser: error.code }, 'request refused by the HTTP parser')
  if (socket.writable) {
    const body = JSON.stringify(errorBody(coded))
    socket.write(
      `HTTP/1.1 ${coded.statusCode} ${STATUS_CODES[coded.statusCode] ?? ''}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy(error)
}

/**
 * The refusal of an HTTP/1.1 request without `Host` (RFC 9112 §3.2): 400 `TC_MALFORMED_REQUEST`, or
 * undefined when the request has one (or is HTTP/1.0). Node would refuse it itself with an empty
 * 400; the app turns that off (`requireHostHeader: false`) so that the refusal has the documented
 * body. Checked first, before any other `onRequest` check (see app.ts).
 */
export function missingHost(request: FastifyRequest): MalformedRequestError | undefined {
  if (request.headers.host !== undefined || request.raw.httpVersionMajor !== 1 || request.raw.httpVersionMinor < 1) return undefined
  return new MalformedRequestError('an HTTP/1.1 request needs a Host header')
}
