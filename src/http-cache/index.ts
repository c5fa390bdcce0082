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
