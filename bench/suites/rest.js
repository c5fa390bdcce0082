// Suite: a cached GET through `tiercache serve` against a bare Fastify route answering the same
// body, both loaded with autocannon over loopback.
//
// Each server runs in a child process of its own and autocannon in this one: in one process,
// autocannon's own work (it is JavaScript too) would share the server's event loop and cap both, and
// `tiercache serve` is what users run. The tiercache server is the real command, embedded default
// (L1 memory + SQLite in a temp folder), request logging and rate limits as it starts by default,
// with an API key on a plan whose limit the run never reaches (so that every request is counted, as
// in production, and none refused). The two are measured in alternation, twice each, so that drift in
// the machine's load reaches both; the ratio is of the summed requests. On a machine that other work
// shares, req/s swings with that work; the server's CPU time per request (from /proc, Linux) does
// much less, and its ratio is printed too.
import { Buffer } from 'node:buffer'
import { join } from 'node:path'
import { VALUE, tempDir } from '../lib/fixtures.js'
import { BIN, CONNECTIONS, ROOT, ROUNDS, createKey, loadInAlternation, loadTable, runSeconds, startServer, stopChildren } from '../lib/http-load.js'

const { fetch } = globalThis

export default {
  name: 'rest',
  title: `REST: cached GET through tiercache serve vs a bare Fastify route (autocannon, ${CONNECTIONS} connections, loopback)`,
  async run(timing) {
    // --quick: 1 s per run; else 5 s, with a 1 s warm-up before each server's first run.
    const seconds = runSeconds(timing)
    const dir = tempDir('rest')
    const children = []
    try {
      const db = join(dir.path, 'cache.db')
      const headers = { authorization: `Bearer ${createKey(db, dir.path)}` }

      const tiercache = await startServer(children, [BIN, 'serve', '--port', '0', '--sqlite', db], dir.path, /tiercache listening on (\S+)/)
      const path = '/v1/entries/bench/user%3A48213'
      const stored = await fetch(tiercache.url + path, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ value: VALUE, ttl: '1h' }),
      })
      if (stored.status !== 204) throw new Error(`PUT answered ${stored.status}: ${await stored.text()}`)
      const answer = await fetch(tiercache.url + path, { headers })
      const body = await answer.text()
      if (answer.status !== 200) throw new Error(`GET answered ${answer.status}: ${body}`)
      const bare = await startServer(children, [join(ROOT, 'bench/lib/bare-server.js'), body], dir.path, /listening (\S+)/)

      const targets = [
        { name: 'bare Fastify route', url: bare.url + path, pid: bare.pid, headers: {} },
        { name: 'tiercache serve, cached GET', url: tiercache.url + path, pid: tiercache.pid, headers },
      ]
      const totals = await loadInAlternation(targets, seconds)
      const table = loadTable(targets, totals)
      const notes = [
        table,
        `Each row: ${ROUNDS} runs of ${seconds} s in alternation with the other row, after a 1 s warm-up; req/s over all runs, ` +
          `latency the median of the runs' p50 and p99 (autocannon rounds to the millisecond); server CPU from /proc over the same runs. ` +
          `Body: ${Buffer.byteLength(body)} bytes. Goal (issue 8): tiercache at least 0.7× the bare route.`,
      ]
      return { rows: [], notes }
    } finally {
      await stopChildren(children)
      dir.remove()
    }
  },
}
