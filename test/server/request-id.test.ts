import { describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { buildKeyedServer } from './helpers.js'

interface Line {
  readonly msg: string
  readonly reqId?: string
}

async function serverWithLog() {
  const lines: Line[] = []
  const server = await buildKeyedServer({
    cache: createCache({ l3: false }),
    closeCacheOnClose: true,
    logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line) as Line) } },
  })
  return { server, lines }
}

describe('request ids', () => {
  it("log a refusal under the client's X-Request-Id, and answer it back", async () => {
    const { server, lines } = await serverWithLog()
    try {
      const response = await server.inject({ method: 'GET', url: '/v1/nowhere', headers: { 'x-request-id': 'edge-7f3a:1' } })
      expect(response.statusCode).toBe(404)
      expect(response.headers['x-request-id']).toBe('edge-7f3a:1')
      expect(lines.find((line) => line.msg === 'no such route')?.reqId).toBe('edge-7f3a:1')
    } finally {
      await server.close()
    }
  })

  it('replace an id a log line could be forged with by one of their own, distinct per request', async () => {
    const { server, lines } = await serverWithLog()
    try {
      const forged = 'x" "admin":true'
      const first = await server.inject({ method: 'GET', url: '/v1/entries/ns/k', headers: { 'x-request-id': forged } })
      const second = await server.inject({ method: 'GET', url: '/v1/entries/ns/k' })
      expect([first.statusCode, second.statusCode]).toEqual([404, 404])
      const ids = lines.filter((line) => line.msg === 'request rejected').map((line) => line.reqId)
      expect(ids).toHaveLength(2)
      expect(ids[0]).toMatch(/^req-[0-9a-z]+$/)
      expect(ids[1]).toMatch(/^req-[0-9a-z]+$/)
      expect(ids[0]).not.toBe(ids[1])
      expect(first.headers['x-request-id']).toBe(ids[0])
    } finally {
      await server.close()
    }
  })
})
