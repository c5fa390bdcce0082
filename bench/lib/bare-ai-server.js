// The ai-gateway suite's baseline: a bare Fastify POST route at the gateway's path answering fixed
// bytes, the JSON answer or, for a body with `"stream": true`, the server-sent events, each with its
// content type. No logger, no hooks, no schema; the request body is parsed (Fastify's JSON parser),
// as any route taking JSON does. In a process of its own, as `tiercache serve` runs in one.
//
//   node bench/lib/bare-ai-server.js --json <file> --json-type <content type> --sse <file> --sse-type <content type>
//
// The bodies are read from files (the SSE body is several KB, with newlines). Prints
// "listening <url>" once it listens.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import Fastify from 'fastify'

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    'json-type': { type: 'string', default: 'application/json; charset=utf-8' },
    sse: { type: 'string' },
    'sse-type': { type: 'string', default: 'text/event-stream; charset=utf-8' },
  },
})
if (values.json === undefined || values.sse === undefined) {
  console.error('usage: node bench/lib/bare-ai-server.js --json <file> [--json-type <type>] --sse <file> [--sse-type <type>]')
  process.exit(2)
}
const json = readFileSync(values.json)
const sse = readFileSync(values.sse)

const app = Fastify({ logger: false })
app.post('/v1/ai/chat/completions', (request, reply) =>
  request.body?.stream === true ? reply.type(values['sse-type']).send(sse) : reply.type(values['json-type']).send(json),
)
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`listening ${url}\n`)
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
