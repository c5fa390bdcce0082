/**
 * The server's one error handler: every failure becomes `{ error: { code, message } }` with a code
 * from the catalogue in `src/errors.ts`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { recordRoutes } from './allowed-methods.js'
import { logOf } from './request-log.js'
import {
  BadRequestError,
  UnsupportedMediaTypeError,
  InternalError,
  InvalidContextError,
  InvalidDurationError,
  InvalidKeyError,
  InvalidNamespaceError,
  InvalidTagError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  TiercacheError,
} from '../errors.js'

/** The body of every error answer. */
export interface ErrorBody {
  /** On the AI gateway's routes also `type` and `param`, as the OpenAI API has them (see {@link errorBodyFor}). */
  readonly error: { readonly code: string; readonly message: string; readonly type?: string; readonly param?: null }
}

/** The shape of one request-validation issue, as Fastify reports it (`error.validation[i]`). */
interface ValidationIssue {
  readonly instancePath: string
  readonly message?: string
}

/** Fastify's error for a request whose params, body or query failed its schema. */
interface ValidationFailure {
  readonly validation: readonly ValidationIssue[]
  readonly validationContext?: string
}

function isValidationFailure(error: unknown): error is ValidationFailure {
  return typeof error === 'object' && error !== null && Array.isArray((error as { validation?: unknown }).validation)
}

/** A Fastify-raised error (`FST_ERR_*`) with its HTTP status, e.g. a JSON body that does not parse. */
function isFastifyError(error: unknown): error is FastifyError & { statusCode: number } {
  if (typeof error !== 'object' || error === null) return false
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown }
  return typeof code === 'string' && code.startsWith('FST_') && typeof statusCode === 'number'
}

// A field that fails at the edge gets the code the cache would have thrown for it, so that a client
// sees TC_INVALID_KEY for a bad key whether the edge or the cache (with its configured, possibly
// tighter limits) caught it. Fields without a dedicated code get TC_BAD_REQUEST.
const FIELD_ERRORS: Readonly<Record<string, new (message: string) => TiercacheError>> = {
  'params.namespace': InvalidNamespaceError,
  'params.key': InvalidKeyError,
  'body.namespace': InvalidNamespaceError,
  'querystring.namespace': InvalidNamespaceError,
  'body.keys.*': InvalidKeyError,
  'body.tags': InvalidTagError,
  'body.tags.*': InvalidTagError,
  'body.ttl': InvalidDurationError,
  'body.grace': InvalidDurationError,
  'body.userId': InvalidContextError,
  'querystring.userId': InvalidContextError,
}

/** `body./tags/0` → `body.tags[0]`, the form used in messages. */
function fieldName(context: string, instancePath: string): { display: string; pattern: string } {
  const parts = instancePath.split('/').filter((part) => part !== '')
  let display = context
  for (const part of parts) display += /^\d+$/.test(part) ? `[${part}]` : `.${part}`
  // The pattern collapses array indices to `*` so that one table entry covers every element.
  const pattern = [context, ...parts.map((part) => (/^\d+$/.test(part) ? '*' : part))].join('.')
  return { display, pattern }
}

/** Turns a failed request validation into a coded 400 naming the first offending field. */
function fromValidation(failure: ValidationFailure): TiercacheError {
  const context = failure.validationContext ?? 'request'
  const first = failure.validation[0]
  if (first === undefined) return new BadRequestError(`${context} is invalid`)
  const { display, pattern } = fieldName(context, first.instancePath)
  const more = failure.validation.length > 1 ? ` (and ${failure.validation.length - 1} more problem(s))` : ''
  const ErrorClass = FIELD_ERRORS[pattern] ?? BadRequestError
  return new ErrorClass(`${display}: ${first.message ?? 'is invalid'}${more}`)
}

/** Fastify's own client errors, by code, as catalogue errors. */
function fromFastify(error: FastifyError & { statusCode: number }): TiercacheError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError('request body is larger than the server accepts')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // Also raised for `__proto__` / `constructor.prototype` keys, refused against prototype pollution.
      return new BadRequestError('body is not valid JSON, or contains a __proto__ or constructor.prototype key')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BadRequestError('body is empty but content-type is application/json')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError('unsupported content-type; send application/json')
    case 'FST_ERR_BAD_URL':
      return new BadRequestError('the URL is not valid percent-encoded UTF-8')
  }
  if (error.statusCode === 404) return new NotFoundError('no such route')
  if (error.statusCode === 413) return new PayloadTooLargeError('request is larger than the server accepts')
  // Other Fastify client errors (bad content-length, ...) carry a message that describes the request.
  if (error.statusCode >= 400 && error.statusCode < 500) return new BadRequestError(error.message)
  return undefined
}

/**
 * Maps anything thrown while handling a request to a catalogue error. Unknown errors become
 * `TC_INTERNAL` with a generic message: their text may hold internals, so it is logged, never sent.
 */
export function toTiercacheError(error: unknown): TiercacheError {
  if (error instanceof TiercacheError) return error
  if (isValidationFailure(error)) return fromValidation(error)
  if (isFastifyError(error)) {
    const mapped = fromFastify(error)
    if (mapped !== undefined) return mapped
  }
  return new InternalError('internal error')
}

/** The JSON body of an error answer. */
export function errorBody(error: TiercacheError): ErrorBody {
  return { error: { code: error.code, message: error.message } }
}

/** The prefix of the AI gateway's routes, whose clients (OpenAI SDKs) read errors in the OpenAI shape. */
const AI_ROUTES = '/v1/ai/'

/**
 * The body of an error answer to `request`: {@link errorBody}, and on the AI gateway's routes the
 * OpenAI API's error shape around the same code and message, `{ error: { message, type, param, code } }`
 * (`type`: `invalid_request_error` for 4xx, `server_error` for 5xx), which is what OpenAI clients parse.
 */
export function errorBodyFor(request: FastifyRequest, error: TiercacheError): ErrorBody {
  if (!request.url.startsWith(AI_ROUTES)) return errorBody(error)
  const type = error.statusCode >= 500 ? 'server_error' : 'invalid_request_error'
  return { error: { message: error.message, type, param: null, code: error.code } }
}

/**
 * Answers `error` as `{ error: { code, message } }` with its catalogue status, logging 5xx details.
 * Installed as the error handler and as Fastify's `frameworkErrors` handler (malformed URLs, which
 * fail before routing and would otherwise bypass the error handler).
 */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const coded = toTiercacheError(error)
  if (coded.statusCode >= 500) {
    // The original error, with its stack and cause, goes to the log only. Error messages in the
    // catalogue never contain cache values, and request bodies are never logged.
    logOf(request).error({ err: error, code: coded.code }, 'request failed')
  } else {
    logOf(request).info({ code: coded.code, statusCode: coded.statusCode }, 'request rejected')
  }
  return reply.code(coded.statusCode).header('x-request-id', request.id).type('application/json').send(errorBodyFor(request, coded))
}

/**
 * Installs the error and not-found handlers on `app` (and so on every route registered after): a
 * path that exists for other methods answers 405 `TC_METHOD_NOT_ALLOWED` with `Allow` (RFC 9110
 * §15.5.6), any other 404 `TC_NOT_FOUND`.
 */
export function installErrorHandling(app: FastifyInstance): void {
  const allowedMethods = recordRoutes(app)
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods(request.url)
    // The URL is not logged: it holds the key.
    if (allowed.length > 0) {
      logOf(request).info({ method: request.method, code: 'TC_METHOD_NOT_ALLOWED' }, 'method not allowed')
      const error = new MethodNotAllowedError(`${request.method} is not allowed here; this path allows ${allowed.join(', ')}`)
      return reply.code(405).header('allow', allowed.join(', ')).header('x-request-id', request.id).type('application/json').send(errorBodyFor(request, error))
    }
    logOf(request).info({ method: request.method, code: 'TC_NOT_FOUND' }, 'no such route')
    return reply.code(404).header('x-request-id', request.id).type('application/json').send(errorBodyFor(request, new NotFoundError(`no route ${request.method} for this path`)))
  })
}
