// The REST suite's baseline: a bare Fastify route answering a fixed JSON body, with no logger, no
// hooks and no schema, in a process of its own (as `tiercache serve` runs in one).
//
//   node bench/lib/bare-server.js '<json body>'     prints "listening <url>" once it listens
import Fastify from 'fastify'

const body = process.argv[2] ?? '{}'
const app = Fastify({ logger: false })
app.get('/v1/entries/:namespace/:key', (_request, reply) => reply.type('application/json; charset=utf-8').send(body))
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`listening ${url}\n`)
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
