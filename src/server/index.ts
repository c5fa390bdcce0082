/**
 * `tiercache/server`: the REST server over a {@link Cache}.
 *
 * @example
 * import { createCache } from 'tiercache'
 * import { startServer } from 'tiercache/server'
 * const { url } = await startServer({ cache: createCache(), port: 4100 })
 */
export { DEFAULT_BODY_LIMIT, buildServer, startServer } from './app.js'
export type { BuildServerOptions, ServerLoggerOptions, StartServerOptions } from './app.js'
export type { ErrorBody } from './errors.js'
