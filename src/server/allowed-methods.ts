/**
 * Which methods a path has, for the `Allow` header of a 405 (RFC 9110 §15.5.6, §10.2.1): every route
 * registered on the app is recorded as a pattern, and a request that matched none is checked against
 * the patterns of the other methods.
 */
import type { FastifyInstance, RouteOptions } from 'fastify'

interface Pattern {
  readonly method: string
  readonly test: RegExp
}

/** `/v1/entries/:namespace/:key` → a RegExp over the raw path, a parameter being one segment. */
function compile(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}/?$`)
}

/** Records the routes of `app` as they register; call before registering them. */
export function recordRoutes(app: FastifyInstance): (rawUrl: string) => string[] {
  const patterns: Pattern[] = []
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) patterns.push({ method: String(method), test: compile(route.url) })
  })
  /** The methods the path of `rawUrl` has, in registration order; empty for an unknown path. */
  return (rawUrl) => {
    const query = rawUrl.indexOf('?')
    const path = query === -1 ? rawUrl : rawUrl.slice(0, query)
    const allowed = new Set<string>()
    for (const pattern of patterns) if (pattern.test.test(path)) allowed.add(pattern.method)
    return [...allowed]
  }
}
