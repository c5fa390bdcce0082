/**
 * `tiercache`'s shared HTTP cache (RFC 9111) and reverse proxy. See docs/http-cache.md.
 */
export { HttpCache, createHttpCache } from './handler.js'
export type { HttpCacheOptions, ResolvedHttpCacheOptions } from './options.js'
export type { HttpCacheAnswer, HttpCacheRequest, Origin, OriginRequest, OriginResponse } from './types.js'
export type { HeaderInput, HttpHeaders } from './headers.js'
export type { CacheStatusParts, Forward } from './cache-status.js'
export { fromNodeRequest, writeNodeAnswer } from './node.js'
export { type ProxyOptions, type RunningProxy, startProxy } from './proxy.js'
export { urlTag } from './variants.js'
export {
  type CacheControlOptions,
  type CacheHeaders,
  type CacheHeadersOptions,
  type PolicyLifetimes,
  cacheControl,
  cacheControlFromPolicy,
  cacheHeaders,
  cacheOptionsFromPolicy,
  notModified,
  strongEtag,
} from './cache-headers.js'
export { type HttpCachePluginOptions, httpCachePlugin } from './middleware/fastify.js'
export { type HttpCacheMiddlewareOptions, type NodeApp, type NodeHandler, type NodeHttpCacheOptions, type NodeMiddleware, httpCacheHandler, httpCacheMiddleware } from './middleware/node.js'
export { type FetchHandler, type FetchHttpCacheOptions, type HttpCacheSource, withHttpCache } from './middleware/fetch.js'
