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
import { spawn, spawnSync } from 'node:child_process'
import { Buffer } from 'node:buffer'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { VALUE, tempDir } from '../lib/fixtures.js'
import { formatCount, formatRatio } from '../lib/harness.js'

const { fetch } = globalThis
const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'bin/tiercache.js')
const CONNECTIONS = 16
const ROUNDS = 2
// A plan no run reaches; `free` is kept, as serve's plans replace the defaults.
const PLANS = JSON.stringify({ free: { limit: 1000, windowMs: 3_600_000 }, bench: { limit: 1_000_000_000, windowMs: 3_600_000 } })

export default {
  name: 'rest',
  title: `REST: cached GET through tiercache serve vs a bare Fastify route (autocannon, ${CONNECTIONS} connections, loopback)`,
  async run(timing) {
    // --quick: 1 s per run; else 5 s, with a 1 s warm-up before each server's first run.
    const seconds = timing.time >= 1000 ? 5 : 1
    const dir = tempDir('rest')
    const children = []
    try {
      const db = join(dir.path, 'cache.db')
      const created = spawnSync(process.execPath, [bin, 'keys', 'create', '--tenant', 'bench', '--roles', 'read,write', '--plan', 'bench', '--sqlite', db, '--json'], {
        cwd: dir.path,
        encoding: 'utf8',
        env: { ...cleanEnv(), TIERCACHE_PLANS: PLANS },
      })
      if (created.status !== 0) throw new Error(`keys create failed: ${created.stderr}`)
      const { key } = JSON.parse(created.stdout)
      const headers = { authorization: `Bearer ${key}` }

      const tiercache = await start(children, [bin, 'serve', '--port', '0', '--sqlite', db], dir.path, /tiercache listening on (\S+)/)
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
      const bare = await start(children, [join(root, 'bench/lib/bare-server.js'), body], dir.path, /listening (\S+)/)

      const targets = [
        { name: 'bare Fastify route', url: bare.url + path, pid: bare.pid, headers: {} },
        { name: 'tiercache serve, cached GET', url: tiercache.url + path, pid: tiercache.pid, headers },
      ]
      for (const target of targets) await load(target, 1)
      const totals = targets.map(() => ({ requests: 0, seconds: 0, p50: [], p99: [], errors: 0, cpuMs: 0 }))
      for (let round = 0; round < ROUNDS; round++) {
        for (const [index, target] of targets.entries()) {
          const cpuBefore = cpuMs(target.pid)
          const result = await load(target, seconds)
          const total = totals[index]
          total.cpuMs += cpuMs(target.pid) - cpuBefore
          total.requests += result.requests.total
          total.seconds += result.duration
          total.p50.push(result.latency.p50)
          total.p99.push(result.latency.p99)
          total.errors += result.errors + result.timeouts + result.non2xx
        }
      }
      const rate = (total) => total.requests / total.seconds
      const cpuPerRequest = (total) => (1000 * total.cpuMs) / total.requests
      const baseline = totals[0]
      const table = [
        '| server | req/s | p50 | p99 | errors | server CPU per request | req/s ratio to bare | CPU ratio (bare / this) |',
        '|---|--:|--:|--:|--:|--:|--:|--:|',
        ...targets.map((target, index) => {
          const total = totals[index]
          const cpu = Number.isFinite(total.cpuMs) ? `${cpuPerRequest(total).toFixed(1)} µs` : '-'
          return (
            `| ${target.name} | ${formatCount(rate(total))} | ${median(total.p50)} ms | ${median(total.p99)} ms | ${total.errors} | ${cpu} | ` +
            `${formatRatio(rate(total) / rate(baseline))} | ${formatRatio(cpuPerRequest(baseline) / cpuPerRequest(total))} |`
          )
        }),
      ].join('\n')
      const notes = [
        table,
        `Each row: ${ROUNDS} runs of ${seconds} s in alternation with the other row, after a 1 s warm-up; req/s over all runs, ` +
          `latency the median of the runs' p50 and p99 (autocannon rounds to the millisecond); server CPU from /proc over the same runs. ` +
          `Body: ${Buffer.byteLength(body)} bytes. Goal (issue 8): tiercache at least 0.7× the bare route.`,
      ]
      return { rows: [], notes }
    } finally {
      for (const child of children) child.kill('SIGTERM')
      await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)))
      dir.remove()
    }
  },
}

/** CPU time (user + system) the process has used, ms; NaN where /proc is not there. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    // utime and stime, fields 14 and 15 of proc(5), in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return NaN
  }
}

/** Starts `node <args>` in `cwd`; resolves the URL it prints once it listens, and its pid. */
function start(children, args, cwd, pattern) {
  const child = spawn(process.execPath, args, { cwd, env: { ...cleanEnv(), TIERCACHE_PLANS: PLANS }, stdio: ['ignore', 'pipe', 'pipe'] })
  let errors = ''
  child.stderr.on('data', (chunk) => (errors += chunk.toString()))
  children.push(child)
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (chunk) => {
      out += chunk.toString()
      const match = pattern.exec(out)
      if (match === null) return
      // From here on only request logs come: read and dropped, as a log shipper would.
      child.stdout.off('data', onData)
      child.stdout.resume()
      resolve({ url: match[1], pid: child.pid })
    }
    child.stdout.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${errors}`)))
  })
}

function load(target, duration) {
  return autocannon({ url: target.url, headers: target.headers, connections: CONNECTIONS, duration })
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

/** The environment without tiercache's variables, so that the caller's cannot change the servers. */
function cleanEnv() {
  const env = { ...process.env }
  for (const name of Object.keys(env)) if (name.startsWith('TIERCACHE_') || name === 'DATABASE_URL' || name === 'REDIS_URL') delete env[name]
  return env
}
