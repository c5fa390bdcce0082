// Suite: a cached chat completion through the AI gateway of `tiercache serve` (`POST
// /v1/ai/chat/completions`), not streamed and streamed, each against a bare Fastify route answering
// the same bytes, all loaded with autocannon over loopback.
//
// The gateway is the real command, embedded default (L1 memory + SQLite in a temp folder), request
// logging and rate limits as it starts by default, with an API key on a plan whose limit the run
// never reaches, in front of a fake OpenAI-compatible upstream (bench/lib/fake-ai-upstream.js) that
// answers the warm-up and counts its calls: under load every answer must come from the cache, so the
// upstream must see no call then. The streamed request is warmed first, so that the one entry both
// requests share holds the stream's bytes: the streamed hit is then a byte replay, and the
// non-streamed hit the completion assembled from that stream. The baseline (bench/lib/bare-ai-server.js)
// answers the bytes the gateway answered, read back from it after warm-up.
//
// As in the rest suite, each server runs in a child process and the four rows are measured in
// alternation, twice each; each gateway row's ratios are to the bare row of the same kind.
import { Buffer } from 'node:buffer'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeAiUpstream } from '../lib/fake-ai-upstream.js'
import { tempDir } from '../lib/fixtures.js'
import { BIN, CONNECTIONS, ROOT, ROUNDS, createKey, loadInAlternation, loadTable, runSeconds, startServer, stopChildren } from '../lib/http-load.js'

const { fetch } = globalThis
const PATH = '/v1/ai/chat/completions'

/** A deterministic request (temperature 0), so that the gateway caches its answer. */
const REQUEST = {
  model: 'gpt-bench',
  temperature: 0,
  messages: [
    { role: 'system', content: 'You plan weddings.' },
    { role: 'user', content: 'Venues in Austin for 120 guests?' },
  ],
}
const PLAIN_BODY = JSON.stringify(REQUEST)
const STREAMED_BODY = JSON.stringify({ ...REQUEST, stream: true, stream_options: { include_usage: true } })

export default {
  name: 'ai-gateway',
  title: `AI gateway: cached chat completion through tiercache serve vs a bare Fastify route, not streamed and streamed (autocannon, ${CONNECTIONS} connections, loopback)`,
  async run(timing) {
    // --quick: 1 s per run; else 5 s, with a 1 s warm-up before each server's first run.
    const seconds = runSeconds(timing)
    const dir = tempDir('ai-gateway')
    const children = []
    const upstream = await startFakeAiUpstream()
    try {
      const db = join(dir.path, 'cache.db')
      const auth = { authorization: `Bearer ${createKey(db, dir.path)}` }
      const gateway = await startServer(children, [BIN, 'serve', '--port', '0', '--sqlite', db, '--ai-upstream', upstream.url], dir.path, /tiercache listening on (\S+)/)
      const gatewayUrl = gateway.url + PATH

      // Warm-up: the streamed request first (a miss, stored once the stream ends), then the
      // non-streamed one (answered from that entry); then both again, which must be hits, for the
      // bytes the baseline answers.
      const warmStreamed = await post(gatewayUrl, STREAMED_BODY, auth)
      const warmPlain = await post(gatewayUrl, PLAIN_BODY, auth)
      const streamed = await post(gatewayUrl, STREAMED_BODY, auth)
      const plain = await post(gatewayUrl, PLAIN_BODY, auth)
      for (const [label, answer] of [
        ['streamed warm-up', warmStreamed],
        ['non-streamed warm-up', warmPlain],
        ['streamed', streamed],
        ['non-streamed', plain],
      ]) {
        if (answer.status !== 200) throw new Error(`the gateway answered the ${label} request ${answer.status}: ${answer.bytes.toString('utf8')}`)
      }
      if (streamed.cache !== 'HIT') throw new Error(`the gateway answered the streamed request after warm-up with x-tiercache-cache: ${streamed.cache}, not HIT`)
      if (plain.cache !== 'HIT') throw new Error(`the gateway answered the non-streamed request after warm-up with x-tiercache-cache: ${plain.cache}, not HIT`)
      if (!streamed.contentType?.startsWith('text/event-stream')) throw new Error(`the streamed answer's content type is ${streamed.contentType}, not text/event-stream`)
      const warmUpCalls = upstream.calls
      const byteReplay = upstream.lastStream !== undefined && streamed.bytes.equals(upstream.lastStream)

      const jsonFile = join(dir.path, 'answer.json')
      const sseFile = join(dir.path, 'answer.sse')
      writeFileSync(jsonFile, plain.bytes)
      writeFileSync(sseFile, streamed.bytes)
      const bare = await startServer(
        children,
        [join(ROOT, 'bench/lib/bare-ai-server.js'), '--json', jsonFile, '--json-type', plain.contentType, '--sse', sseFile, '--sse-type', streamed.contentType],
        dir.path,
        /listening (\S+)/,
      )
      const bareUrl = bare.url + PATH
      for (const [body, expected] of [
        [PLAIN_BODY, plain],
        [STREAMED_BODY, streamed],
      ]) {
        const answer = await post(bareUrl, body, {})
        if (!answer.bytes.equals(expected.bytes) || answer.contentType !== expected.contentType) throw new Error('the bare route does not answer the bytes the gateway answered')
      }

      const json = { 'content-type': 'application/json' }
      const targets = [
        { name: 'bare Fastify route, not streamed', url: bareUrl, pid: bare.pid, method: 'POST', body: PLAIN_BODY, headers: json, baseline: 0 },
        { name: 'tiercache gateway, cached, not streamed', url: gatewayUrl, pid: gateway.pid, method: 'POST', body: PLAIN_BODY, headers: { ...json, ...auth }, baseline: 0 },
        { name: 'bare Fastify route, streamed', url: bareUrl, pid: bare.pid, method: 'POST', body: STREAMED_BODY, headers: json, baseline: 2 },
        { name: 'tiercache gateway, cached, streamed', url: gatewayUrl, pid: gateway.pid, method: 'POST', body: STREAMED_BODY, headers: { ...json, ...auth }, baseline: 2 },
      ]
      const totals = await loadInAlternation(targets, seconds)
      const loadCalls = upstream.calls - warmUpCalls

      // Still hits after the load (an entry evicted or expired mid-run would have called the upstream).
      const after = [await post(gatewayUrl, PLAIN_BODY, auth), await post(gatewayUrl, STREAMED_BODY, auth)].map((answer) => answer.cache)

      const bytesPerAnswer = totals.map((total) => formatBytes(total.bytes / total.requests)).join(' / ')
      const checks = [
        `upstream calls: ${warmUpCalls} during warm-up, ${loadCalls} during the runs${loadCalls === 0 ? '' : ' (INVALID: some answers under load did not come from the cache)'}`,
        `x-tiercache-cache: warm-up streamed ${warmStreamed.cache}, then non-streamed ${warmPlain.cache}; before the runs ${streamed.cache} / ${plain.cache}; after them ${after.join(' / ')} (non-streamed / streamed)`,
        `streamed hit ${byteReplay ? 'is' : 'is NOT'} the upstream's stream byte for byte`,
        `average bytes per answer under load, headers included, by row: ${bytesPerAnswer}`,
        `framing: gateway ${framing(plain)} not streamed, ${framing(streamed)} streamed; bare route content-length for both`,
      ]
      const notes = [
        loadTable(targets, totals),
        `Each row: ${ROUNDS} runs of ${seconds} s in alternation with the other rows, after a 1 s warm-up; req/s over all runs, ` +
          `latency the median of the runs' p50 and p99 (autocannon rounds to the millisecond); server CPU from /proc over the same runs ` +
          `(the bare rows share one process, as the gateway rows do). Each gateway row's ratios are to the bare row above it. ` +
          `Request: ${Buffer.byteLength(PLAIN_BODY)} bytes of JSON (${Buffer.byteLength(STREAMED_BODY)} streamed); answer: ${Buffer.byteLength(plain.bytes)} bytes of JSON, ` +
          `or ${Buffer.byteLength(streamed.bytes)} bytes of server-sent events (${eventCount(streamed.bytes)} events, the content in chunks of about ten words, a usage chunk, [DONE]). ` +
          `Beyond the bare route's work, a cached answer goes through the API-key check, the rate limit, the body's validation, the request's canonical key ` +
          `(sorted JSON, SHA-256) and the L1 read, then the completion is serialized to JSON, or, streamed, the stored event bytes are sent as they are ` +
          `(one buffer, with a content-length).`,
        checks.map((line) => `- ${line}`).join('\n'),
      ]
      return { rows: [], notes }
    } finally {
      await stopChildren(children)
      await upstream.close()
      dir.remove()
    }
  },
}

/** POSTs `body` as JSON; resolves the status, `x-tiercache-cache`, content type, transfer encoding and the body's bytes. */
async function post(url, body, headers) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  return {
    status: response.status,
    cache: response.headers.get('x-tiercache-cache'),
    contentType: response.headers.get('content-type'),
    transferEncoding: response.headers.get('transfer-encoding'),
    bytes: Buffer.from(await response.arrayBuffer()),
  }
}

function framing(answer) {
  return answer.transferEncoding === null ? 'content-length' : `transfer-encoding ${answer.transferEncoding}`
}

function eventCount(bytes) {
  return bytes.toString('utf8').split('\n\n').filter((event) => event.startsWith('data:')).length
}

function formatBytes(n) {
  return Number.isFinite(n) ? `${Math.round(n).toLocaleString('en-US')} B` : '-'
}
