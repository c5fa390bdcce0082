/**
 * The one catalogue of errors tiercache throws.
 *
 * Every error is a {@link TiercacheError} with a stable `code` (`TC_...`, never reused), the HTTP
 * status the server answers it with, and the underlying error, if any, as `cause`. Messages never
 * contain cache values or secrets. Match on `code`, not on message text.
 */

/** Every code tiercache can throw; stable across releases. */
export type ErrorCode =
  | 'TC_INVALID_KEY'
  | 'TC_INVALID_NAMESPACE'
  | 'TC_INVALID_TAG'
  | 'TC_INVALID_DURATION'
  | 'TC_INVALID_VALUE'
  | 'TC_VALUE_TOO_LARGE'
  | 'TC_INVALID_OPTIONS'
  | 'TC_FACTORY_ERROR'
  | 'TC_FACTORY_TIMEOUT'
  | 'TC_CACHE_CLOSED'
  | 'TC_TIER_UNAVAILABLE'
  | 'TC_CORRUPT_ENTRY'
  | 'TC_MIGRATION_FAILED'
  | 'TC_BAD_REQUEST'
  | 'TC_NOT_FOUND'
  | 'TC_PAYLOAD_TOO_LARGE'
  | 'TC_UNSUPPORTED_MEDIA_TYPE'
  | 'TC_INTERNAL'
  | 'TC_INVALID_TRACE'
  | 'TC_RATE_LIMITED'
  | 'TC_INVALID_CONTEXT'
  | 'TC_UNKNOWN_KEY'
  | 'TC_UNAUTHORIZED'
  | 'TC_FORBIDDEN'
  | 'TC_SERVER_UNREACHABLE'
  | 'TC_UNEXPECTED_ANSWER'
  | 'TC_OUTPUT_FAILED'
  | 'TC_INTERRUPTED'
  | 'TC_MALFORMED_REQUEST'
  | 'TC_HEADERS_TOO_LARGE'
  | 'TC_REQUEST_TIMEOUT'
  | 'TC_METHOD_NOT_ALLOWED'
  | 'TC_LISTEN_FAILED'
  | 'TC_UNKNOWN_POLICY'
  | 'TC_UNKNOWN_EVENT'
  | 'TC_UNKNOWN_WARM_JOB'
  | 'TC_UNKNOWN_WARM_RUN'
  | 'TC_WARM_INCOMPLETE'
  | 'TC_UPSTREAM_ERROR'
  | 'TC_UPSTREAM_TIMEOUT'

/** Base class of every error tiercache throws. */
export class TiercacheError extends Error {
  /** Stable machine-readable code, e.g. `TC_INVALID_KEY`. */
  readonly code: ErrorCode
  /** HTTP status the server answers this error with. */
  readonly statusCode: number

  constructor(code: ErrorCode, statusCode: number, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.statusCode = statusCode
  }
}

function defineError(code: ErrorCode, statusCode: number, name: string) {
  return class extends TiercacheError {
    static readonly code: ErrorCode = code
    constructor(message: string, options?: ErrorOptions) {
      super(code, statusCode, message, options)
      this.name = name
    }
  }
}

/** A key is not a non-empty, well-formed string within the length limit, or contains NUL. 400. */
export class InvalidKeyError extends defineError('TC_INVALID_KEY', 400, 'InvalidKeyError') {}
/** A namespace does not match `[A-Za-z0-9._-]{1,128}`. 400. */
export class InvalidNamespaceError extends defineError('TC_INVALID_NAMESPACE', 400, 'InvalidNamespaceError') {}
/** A tag is empty, too long, malformed, or there are too many tags. 400. */
export class InvalidTagError extends defineError('TC_INVALID_TAG', 400, 'InvalidTagError') {}
/** A ttl, grace or timeout is not a valid duration. 400. */
export class InvalidDurationError extends defineError('TC_INVALID_DURATION', 400, 'InvalidDurationError') {}
/** A value cannot be cached: `undefined`, or not serializable. 400. */
export class InvalidValueError extends defineError('TC_INVALID_VALUE', 400, 'InvalidValueError') {}
/** An encoded value is larger than `limits.maxValueBytes`. 413. */
export class ValueTooLargeError extends defineError('TC_VALUE_TOO_LARGE', 413, 'ValueTooLargeError') {}
/** Options passed to a constructor or call are invalid. 400. */
export class InvalidOptionsError extends defineError('TC_INVALID_OPTIONS', 400, 'InvalidOptionsError') {}
/** The factory threw and no stale value could be served; the factory's error is the `cause`. 502. */
export class FactoryError extends defineError('TC_FACTORY_ERROR', 502, 'FactoryError') {}
/** The factory passed its `hardTimeout` and no stale value could be served. 504. */
export class FactoryTimeoutError extends defineError('TC_FACTORY_TIMEOUT', 504, 'FactoryTimeoutError') {}
/** The cache was used after `close()`. 503. */
export class CacheClosedError extends defineError('TC_CACHE_CLOSED', 503, 'CacheClosedError') {}
/** A tier failed or its circuit is open; raised to callers only where no other tier can answer. 503. */
export class TierUnavailableError extends defineError('TC_TIER_UNAVAILABLE', 503, 'TierUnavailableError') {}
/** A stored entry could not be decoded; it is treated as a miss and removed. 500. */
export class CorruptEntryError extends defineError('TC_CORRUPT_ENTRY', 500, 'CorruptEntryError') {}
/** A schema migration of the SQL tier failed at start. 500. */
export class MigrationFailedError extends defineError('TC_MIGRATION_FAILED', 500, 'MigrationFailedError') {}
/** An HTTP request's parameters or body failed validation. 400. */
export class BadRequestError extends defineError('TC_BAD_REQUEST', 400, 'BadRequestError') {}
/** The HTTP route or entry does not exist. 404. */
export class NotFoundError extends defineError('TC_NOT_FOUND', 404, 'NotFoundError') {}
/** An HTTP request body is larger than the server accepts. 413. */
export class PayloadTooLargeError extends defineError('TC_PAYLOAD_TOO_LARGE', 413, 'PayloadTooLargeError') {}
/** An HTTP request body is not `application/json`. 415. */
export class UnsupportedMediaTypeError extends defineError('TC_UNSUPPORTED_MEDIA_TYPE', 415, 'UnsupportedMediaTypeError') {}
/** An unexpected failure; details are logged, never sent to clients. 500. */
export class InternalError extends defineError('TC_INTERNAL', 500, 'InternalError') {}
/** A replay trace or workload specification cannot be read. 400. */
export class InvalidTraceError extends defineError('TC_INVALID_TRACE', 400, 'InvalidTraceError') {}
/** A caller went over its rate limit; it may retry after `retryAfterMs`. 429. */
export class RateLimitedError extends defineError('TC_RATE_LIMITED', 429, 'RateLimitedError') {
  /** Milliseconds until the caller's next request would be allowed. */
  readonly retryAfterMs: number

  constructor(message: string, retryAfterMs: number, options?: ErrorOptions) {
    super(message, options)
    this.retryAfterMs = retryAfterMs
  }
}
/** A security context is malformed, or asks for a scope it does not reach (e.g. a user scope without a user); or a call's policy context names a value its policy does not know. 400. */
export class InvalidContextError extends defineError('TC_INVALID_CONTEXT', 400, 'InvalidContextError') {}
/**
 * An encrypted entry names a master key this process's key ring does not hold (written after a
 * rotation this process has not loaded yet). Handled internally: a miss, and the entry is kept. 500.
 */
export class UnknownKeyError extends defineError('TC_UNKNOWN_KEY', 500, 'UnknownKeyError') {}
/** An HTTP request has no API key, or an unknown, revoked or malformed one. 401. */
export class UnauthorizedError extends defineError('TC_UNAUTHORIZED', 401, 'UnauthorizedError') {}
/** The API key is valid but its roles or tenant do not allow the request. 403. */
export class ForbiddenError extends defineError('TC_FORBIDDEN', 403, 'ForbiddenError') {}
/** The command line could not reach a tiercache server, or it did not answer in time. 503. */
export class ServerUnreachableError extends defineError('TC_SERVER_UNREACHABLE', 503, 'ServerUnreachableError') {}
/**
 * The command line got an answer it cannot use: not JSON, not the expected shape, an error without a
 * `TC_` code (not a tiercache server), or one cut short. 502.
 */
export class UnexpectedAnswerError extends defineError('TC_UNEXPECTED_ANSWER', 502, 'UnexpectedAnswerError') {}
/** The command line could not write its output file; the file system's error is the `cause`. 500. */
export class OutputFailedError extends defineError('TC_OUTPUT_FAILED', 500, 'OutputFailedError') {}
/** A command was stopped by SIGINT before it finished (exit code 130). 499, as for a client that went away. */
export class InterruptedError extends defineError('TC_INTERRUPTED', 499, 'InterruptedError') {}
/**
 * Node's HTTP parser refused the request before any route saw it: an unknown method token, raw
 * bytes the grammar forbids in the request line or a header, a malformed chunk. 400.
 * @see RFC 9112 §3 (request line), RFC 9110 §5.5 (field values)
 */
export class MalformedRequestError extends defineError('TC_MALFORMED_REQUEST', 400, 'MalformedRequestError') {}
/** The request line and headers are larger than the server reads (Node's `maxHeaderSize`, 16 KiB by default). 431. @see RFC 6585 §5 */
export class HeadersTooLargeError extends defineError('TC_HEADERS_TOO_LARGE', 431, 'HeadersTooLargeError') {}
/** The client did not send a whole request within the server's request timeout. 408. @see RFC 9110 §15.5.9 */
export class RequestTimeoutError extends defineError('TC_REQUEST_TIMEOUT', 408, 'RequestTimeoutError') {}
/** The path exists, but not for this method; the answer's `Allow` header lists those it has. 405. @see RFC 9110 §15.5.6 */
export class MethodNotAllowedError extends defineError('TC_METHOD_NOT_ALLOWED', 405, 'MethodNotAllowedError') {}
/** The server could not listen: the port is in use, the host is not this machine's, or the port needs privileges. 500. */
export class ListenFailedError extends defineError('TC_LISTEN_FAILED', 500, 'ListenFailedError') {}

/** A call names a ttl policy (`{ policy: 'name' }`) that the policy layer does not declare. 400. */
export class UnknownPolicyError extends defineError('TC_UNKNOWN_POLICY', 400, 'UnknownPolicyError') {}
/** `emit` (or `POST /v1/events`) names an event that no invalidation rule declares. 404. */
export class UnknownEventError extends defineError('TC_UNKNOWN_EVENT', 404, 'UnknownEventError') {}
/** A warming job that the policy configuration's `warm` section does not declare (`POST /v1/warm`, `tiercache warm`). 404. */
export class UnknownWarmJobError extends defineError('TC_UNKNOWN_WARM_JOB', 404, 'UnknownWarmJobError') {}
/** A warming run id that this server does not know (never started, forgotten, or another tenant's): `GET /v1/warm/:id`. 404. */
export class UnknownWarmRunError extends defineError('TC_UNKNOWN_WARM_RUN', 404, 'UnknownWarmRunError') {}
/** A warming run ended with keys that failed to load (`tiercache warm` exits 1); its report lists each key's code. 502. */
export class WarmIncompleteError extends defineError('TC_WARM_INCOMPLETE', 502, 'WarmIncompleteError') {}

/** The AI gateway's upstream cannot be reached, or answered something that is not JSON. 502. */
export class UpstreamError extends defineError('TC_UPSTREAM_ERROR', 502, 'UpstreamError') {}
/** The AI gateway's upstream did not answer in time. 504. */
export class UpstreamTimeoutError extends defineError('TC_UPSTREAM_TIMEOUT', 504, 'UpstreamTimeoutError') {}

/** True when `error` is a {@link TiercacheError}, optionally with the given code. */
export function isTiercacheError(error: unknown, code?: ErrorCode): error is TiercacheError {
  return error instanceof TiercacheError && (code === undefined || error.code === code)
}
