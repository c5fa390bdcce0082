/**
 * What the server logs per request. Fastify's default, two `info` lines per request (incoming,
 * completed), cost about 10 % of the server's time under load; here it is one line, `request
 * completed`, at `debug`, so that a server logging at `info` pays one level comparison per request.
 * Failed requests are still logged at `error` (5xx) and refusals at `info` by the error handler.
 * Every request line carries the request id (`reqId`): a valid `X-Request-Id` the client or a proxy
 * sent, else one of the server's own (`req-1`, `req-2`, ...); error answers send it back in
 * `X-Request-Id`.
 */
import type { IncomingMessage } from 'node:http'
import { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify'

/** Fastify's `logger` option: `true` for pino defaults, pino options, or `false` for none. */
export type ServerLoggerOptions = FastifyServerOptions['logger']

/** Logs a request without its URL: keys are in the path and may identify people. */
function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, route: request.routeOptions.url, remoteAddress: request.ip }
}

/** The pino options of the app: `logger` with the request serializer that leaves the URL out. */
export function loggerOption(logger: ServerLoggerOptions): ServerLoggerOptions {
  if (logger === undefined || logger === false) return false
  if (logger === true) return { serializers: { req: serializeRequest } }
  return { ...logger, serializers: { ...logger.serializers, req: serializeRequest } }
}

const DEBUG_LEVELS: ReadonlySet<string> = new Set(['debug', 'trace'])
/** pino's number for `debug`; lower numbers are more verbose. */
const DEBUG_LEVEL_VALUE = 20

/**
 * True when `logger` writes `debug` lines. By pino's numeric level, a field read where `level` maps
 * it back to a name on each call: this runs twice per request.
 */
function logsDebug(logger: FastifyBaseLogger): boolean {
  const value = (logger as { readonly levelVal?: unknown }).levelVal
  return typeof value === 'number' ? value <= DEBUG_LEVEL_VALUE : DEBUG_LEVELS.has(logger.level)
}

/** An id a client or a proxy may give a request: short, and nothing a log line could be forged with. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
let requestCount = 0

/** Fastify's `genReqId`: the request's `X-Request-Id` when valid, else the next `req-<n>`. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req-${(++requestCount).toString(36)}`
}

/**
 * The request's logger, bound to its id. At `debug` that is the request's own child logger; at
 * `info` there is none (see {@link childLoggerFactory}), and one is made for the line: only
 * refusals and failures log there, so the few microseconds are paid by few requests.
 */
export function logOf(request: FastifyRequest): FastifyBaseLogger {
  return request.log === request.server.log ? request.log.child({ reqId: request.id }) : request.log
}

/** Fastify's `logController`: no `incoming request` line, and `request completed` at `debug`. */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      logOf(request).error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
    } else if (logsDebug(reply.log)) {
      reply.log.debug({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
    }
  }
}

/**
 * Fastify's `childLoggerFactory`: the per-request child logger (bound to `reqId`) only at `debug` and
 * `trace`. pino serializes a child's bindings when it is made, which cost every request a few
 * microseconds at `info`, where a request logs one line at most (a refusal or a failure).
 */
export const childLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  logsDebug(logger) ? logger.child(bindings, options) : logger
