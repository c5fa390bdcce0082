/**
 * A listener of its own for Prometheus, beside the REST server: `GET /metrics` only, without a key,
 * on an interface the operator chooses. Whoever can open a connection to it reads every namespace
 * of every tenant, so it belongs on a private interface or behind a firewall that lets only
 * Prometheus in; it is off unless asked for.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { z } from 'zod'
import { parseOptions } from '../core/options.js'
import { clientErrorHandler, missingHost } from './client-errors.js'
import { handleError, installErrorHandling } from './errors.js'

/** What listen failures call it: `cannot listen on <host>:<port> for the metrics listener: ...`. */
export const METRICS_LISTENER = 'metrics listener'

/** Where the metrics listener listens; see {@link startMetricsListener}. */
export interface MetricsListenerOptions {
  /**
   * Interface to listen on. Anyone who reaches it reads the metrics without a key.
   * @default '127.0.0.1' (this machine only)
   */
  readonly host?: string
  /** TCP port; `0` picks a free one (see the returned `url`). */
  readonly port: number
}

const optionsSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.int().min(0).max(65_535),
})

/** A metrics listener that listens. */
export interface MetricsListener {
  /** Its base URL, e.g. `http://127.0.0.1:9464`; scrape `${url}/metrics`. */
  readonly url: string
  readonly app: FastifyInstance
  /** Stops listening; the registry and the cache are left as they are. */
  close(): Promise<void>
}

/** Resolved listener options, checked before anything listens. @throws InvalidOptionsError */
export function parseMetricsListenerOptions(options: MetricsListenerOptions): Readonly<Required<MetricsListenerOptions>> {
  return parseOptions(optionsSchema, options, 'metrics listener')
}

/**
 * Listens on `options.host:options.port` and answers `GET /metrics` with `registry`, in
 * `registry.contentType`; every other path 404 `TC_NOT_FOUND` (405 for another method on
 * `/metrics`), with the server's error body.
 * @param log - where failures are logged (the server's logger); none by default
 * @throws InvalidOptionsError for a port outside 0..65535 or an empty host
 * @throws Node's listen error (`EADDRINUSE`, ...) as it is: the caller words it
 */
export async function startMetricsListener(registry: Registry, options: MetricsListenerOptions, log?: FastifyBaseLogger): Promise<MetricsListener> {
  const { host, port } = parseMetricsListenerOptions(options)
  const app = Fastify({
    ...(log === undefined ? { logger: false } : { loggerInstance: log.child({ listener: 'metrics' }) }),
    frameworkErrors: handleError,
    clientErrorHandler,
    http: { requireHostHeader: false },
  })
  installErrorHandling(app)
  app.addHook('onRequest', (request, _reply, done) => done(missingHost(request)))
  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics()
    return reply.header('cache-control', 'no-store').type(registry.contentType).send(text)
  })
  try {
    const url = await app.listen({ host, port })
    return { url, app, close: () => app.close() }
  } catch (error) {
    await app.close()
    throw error
  }
}
