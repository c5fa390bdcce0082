// The http-cache suite's Fastify app: the origin's route (bench/lib/http-origin.js) as a Fastify
// route, same bytes and headers, with no logger, hooks or schema; with `--plugin`, cached by
// tiercache's Fastify plugin (`httpCachePlugin` from tiercache/http-cache) on `createCache()`, the
// embedded default (L1 memory + SQLite in ./.tiercache/ of the working folder).
//
//   node bench/lib/fastify-app.js [--plugin]     prints "listening <url>" once it listens
import Fastify from 'fastify'
import { BODY, COUNT_PATH, HEADERS, ROUTE, matchesEtag } from './http-origin.js'

const withPlugin = process.argv.includes('--plugin')
const app = Fastify({ logger: false })
let cache
if (withPlugin) {
  const { createCache } = await import('tiercache')
  const { httpCachePlugin } = await import('tiercache/http-cache')
  cache = createCache()
  await app.register(httpCachePlugin, { cache })
}

let requests = 0
app.get(COUNT_PATH, (_request, reply) => reply.header('cache-control', 'no-store').send({ requests }))
app.get(ROUTE, (request, reply) => {
  requests++
  if (matchesEtag(request.headers['if-none-match'])) return reply.code(304).headers({ 'cache-control': HEADERS['cache-control'], etag: HEADERS.etag }).send()
  return reply.headers(HEADERS).send(BODY)
})
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`listening ${url}\n`)
process.on('SIGTERM', () => void app.close().then(() => cache?.close()).then(() => process.exit(0)))
