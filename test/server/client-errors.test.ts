import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { startServer } from '../../src/server/index.js'
import { type KeyStore, openKeyStore, prng } from './helpers.js'

// Requests that Node's HTTP parser refuses never reach Fastify's routes or error handler; they are
// sent here over raw sockets, as no HTTP client would send them.
const FUZZ_ROUNDS = 300
const SEED = Number(process.env.FUZZ_SEED ?? 0x5e_ed_08)

interface RawAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

let dir: string
let store: KeyStore
let app: FastifyInstance
let port: number
let key: string
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tiercache-client-errors-'))
  const file = join(dir, 'cache.db')
  store = await openKeyStore(file)
  key = (await store.createKey()).key
  const started = await startServer({ cache: createCache({ l3: { sqlite: file, cleanupInterval: 0 } }), credentials: store.credentials, port: 0 })
  app = started.app
  port = Number(new URL(started.url).port)
})
afterAll(async () => {
  await app.close()
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

/**
 * Writes `bytes`, half-closes, and reads the first answer: the status line, headers, and the body of
 * its Content-Length. Null when the server closed without answering.
 */
function send(bytes: Buffer): Promise<RawAnswer | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let received = Buffer.alloc(0)
    const finish = () => {
      socket.destroy()
      resolve(parse(received))
    }
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const answer = parse(received)
      if (answer !== null && Buffer.byteLength(answer.body) >= Number(answer.headers['content-length'] ?? 0)) finish()
    })
    socket.on('end', finish)
    socket.on('close', finish)
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? finish() : reject(error)))
    socket.end(bytes)
  })
}

function parse(received: Buffer): RawAnswer | null {
  const end = received.indexOf('\r\n\r\n')
  if (end === -1) return null
  const [statusLine = '', ...lines] = received.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? NaN)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  // A mutation may split one request into two: only the first answer is read.
  const length = Number(headers['content-length'] ?? 0)
  return { status, headers, body: received.subarray(end + 4, end + 4 + length).toString('utf8') }
}

/** Asserts the documented error shape, `{ error: { code, message } }`, with `code` and `status`. */
function expectCoded(answer: RawAnswer | null, status: number, code: string): void {
  expect(answer, 'no answer').not.toBeNull()
  expect(answer?.status).toBe(status)
  expect(answer?.headers['content-type']).toMatch(/^application\/json/)
  const body = JSON.parse(answer?.body ?? '') as { error: { code: string; message: string } }
  expect(Object.keys(body)).toEqual(['error'])
  expect(body.error.code).toBe(code)
  expect(body.error.message.length).toBeGreaterThan(0)
}

const request = (line: string, headers: readonly string[] = []) =>
  Buffer.from([line, 'Host: 127.0.0.1', `Authorization: Bearer ${key}`, ...headers, 'Connection: close', '', ''].join('\r\n'), 'latin1')

async function expectStillServing(): Promise<void> {
  const answer = await send(request('GET /health HTTP/1.1'))
  expect(answer?.status).toBe(200)
}

describe('requests refused by the HTTP parser', () => {
  it('answers an unknown method token 400 TC_MALFORMED_REQUEST', async () => {
    expectCoded(await send(request('FROB /v1/entries/ns/k HTTP/1.1')), 400, 'TC_MALFORMED_REQUEST')
    expectCoded(await send(request('G\u0001T /health HTTP/1.1')), 400, 'TC_MALFORMED_REQUEST')
    await expectStillServing()
  })

  it('answers headers over 16 KiB 431 TC_HEADERS_TOO_LARGE', async () => {
    const answer = await send(request('GET /v1/entries/ns/k HTTP/1.1', [`X-Padding: ${'a'.repeat(17 * 1024)}`]))
    expectCoded(answer, 431, 'TC_HEADERS_TOO_LARGE')
    expect(answer?.headers.connection).toBe('close')
    await expectStillServing()
  })

  it('answers raw non-ASCII bytes in the path 400 TC_MALFORMED_REQUEST', async () => {
    const line = Buffer.concat([Buffer.from('GET /v1/entries/ns/'), Buffer.from([0xc3, 0xa9, 0xff]), Buffer.from(' HTTP/1.1')])
    expectCoded(await send(request(line.toString('latin1'))), 400, 'TC_MALFORMED_REQUEST')
    await expectStillServing()
  })

  it('answers an HTTP/1.1 request without Host 400 TC_MALFORMED_REQUEST (RFC 9112 §3.2), not an empty 400', async () => {
    expectCoded(await send(Buffer.from('GET /health HTTP/1.1\r\nConnection: close\r\n\r\n')), 400, 'TC_MALFORMED_REQUEST')
    expect((await send(Buffer.from('GET /health HTTP/1.0\r\n\r\n')))?.status).toBe(200)
  })

  it('answers a header with a control byte, and a truncated body, in the same shape', async () => {
    expectCoded(await send(request('GET /health HTTP/1.1', ['X-Bad: a\u0001b'])), 400, 'TC_MALFORMED_REQUEST')
    expectCoded(await send(request('PUT /v1/entries/ns/k HTTP/1.1', ['Transfer-Encoding: chunked', '', 'zz'])), 400, 'TC_MALFORMED_REQUEST')
  })

  it(`fuzz: ${FUZZ_ROUNDS} mutated requests each answer the documented shape, never 5xx, and the server stays up`, async () => {
    const random = prng(SEED)
    const int = (max: number) => Math.floor(random() * max)
    const templates = [
      request('GET /v1/entries/ns/k HTTP/1.1'),
      request('PUT /v1/entries/ns/k HTTP/1.1', ['Content-Type: application/json', 'Content-Length: 11', '', '{"value":1}']),
      request('POST /v1/invalidate HTTP/1.1', ['Content-Type: application/json', 'Content-Length: 33', '', '{"tags":["t"],"namespace":"ns"}  ']),
      request('GET /health HTTP/1.1'),
    ]
    const statuses = new Map<number, number>()
    for (let round = 0; round < FUZZ_ROUNDS; round++) {
      const bytes = Buffer.from(templates[int(templates.length)] ?? Buffer.alloc(0))
      // One to four mutations: a random byte written, inserted or removed, mostly in the head.
      let mutated = bytes
      for (let i = 0, n = 1 + int(4); i < n; i++) {
        const at = int(Math.min(mutated.length, 80))
        const byte = random() < 0.5 ? int(256) : [0x00, 0x0a, 0x0d, 0x20, 0x7f, 0x80, 0xff, 0x3a][int(8)] ?? 0
        const kind = int(3)
        if (kind === 0) mutated[at] = byte
        else if (kind === 1) mutated = Buffer.concat([mutated.subarray(0, at), Buffer.from([byte]), mutated.subarray(at)])
        else mutated = Buffer.concat([mutated.subarray(0, at), mutated.subarray(at + 1)])
      }
      const answer = await send(mutated)
      const context = `round ${round}, request ${JSON.stringify(mutated.toString('latin1').slice(0, 120))}`
      // A request cut so short that there is no request line yet may be closed without an answer.
      if (answer === null) continue
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
      expect(answer.status, context).toBeLessThan(500)
      if (answer.status >= 400) {
        const body = JSON.parse(answer.body) as { error?: { code?: unknown; message?: unknown } }
        expect(Object.keys(body), context).toEqual(['error'])
        expect(body.error?.code, context).toMatch(/^TC_[A-Z_]+$/)
        expect(typeof body.error?.message, context).toBe('string')
      }
    }
    if (process.env.FUZZ_SEED !== undefined) console.log('client-error fuzz statuses', Object.fromEntries(statuses))
    // The mutations reach the parser's refusals, not only the routes.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(FUZZ_ROUNDS / 10)
    await expectStillServing()
  })
})
