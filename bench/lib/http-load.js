// Shared by the suites that load a server with autocannon (rest, ai-gateway): each server in a child
// process of its own, autocannon in the benchmark's process, the servers measured in alternation
// with their CPU time read from /proc, and one table for the results.
//
// Why child processes: in one process, autocannon's own work (it is JavaScript too) would share the
// server's event loop and cap both, and `tiercache serve` is what users run.
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { formatCount, formatRatio } from './harness.js'

/** The repository's root folder, and the `tiercache` command in it (which runs the build in dist/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BIN = join(ROOT, 'bin/tiercache.js')

/** autocannon's connections, kept open and busy for the whole of each run. */
export const CONNECTIONS = 16

/** Runs of each server, in alternation with the others. */
export const ROUNDS = 2

// A plan no run reaches; `free` is kept, as serve's plans replace the defaults.
const PLANS = JSON.stringify({ free: { limit: 1000, windowMs: 3_600_000 }, bench: { limit: 1_000_000_000, windowMs: 3_600_000 } })

/** Seconds of each measured run: 5, or 1 for --quick. */
export function runSeconds(timing) {
  return timing.time >= 1000 ? 5 : 1
}

/**
 * Creates an API key (tenant `bench`, roles read and write) on a plan whose rate limit the run never
 * reaches, in the SQLite database `db` that `tiercache serve --sqlite <db>` will open, and returns it.
 */
export function createKey(db, cwd) {
  const created = spawnSync(process.execPath, [BIN, 'keys', 'create', '--tenant', 'bench', '--roles', 'read,write', '--plan', 'bench', '--sqlite', db, '--json'], {
    cwd,
    encoding: 'utf8',
    env: serverEnv(),
  })
  if (created.status !== 0) throw new Error(`keys create failed: ${created.stderr}`)
  return JSON.parse(created.stdout).key
}

/**
 * Starts `node <args>` in `cwd` (added to `children`, for {@link stopChildren}); resolves the URL it
 * prints, the first group of `pattern`, once it listens, and its pid.
 */
export function startServer(children, args, cwd, pattern) {
  const child = spawn(process.execPath, args, { cwd, env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
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

/** Sends SIGTERM to every child started by {@link startServer} and waits until they have exited. */
export async function stopChildren(children) {
  for (const child of children) child.kill('SIGTERM')
  await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)))
}

/** CPU time (user + system) the process has used (or the processes, summed), ms; NaN where /proc is not there. */
export function cpuMs(pid) {
  if (Array.isArray(pid)) return pid.reduce((sum, one) => sum + cpuMs(one), 0)
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    // utime and stime, fields 14 and 15 of proc(5), in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return NaN
  }
}

/**
 * A server under load.
 * @typedef {object} Target
 * @property {string} name - row label
 * @property {string} url
 * @property {number | number[]} pid - the server's process (or processes), whose CPU time is read
 * @property {Record<string, string>} [headers]
 * @property {string} [method] - default GET
 * @property {string} [body]
 * @property {number} [baseline] - index of the target its ratios are to; default 0
 */

/** One autocannon run of `duration` seconds against `target`. */
export function load(target, duration) {
  return autocannon({
    url: target.url,
    method: target.method ?? 'GET',
    headers: target.headers ?? {},
    ...(target.body === undefined ? {} : { body: target.body }),
    connections: CONNECTIONS,
    duration,
  })
}

/**
 * One run's figures, as {@link loadInAlternation} sums them.
 * @typedef {object} Run
 * @property {number} requests
 * @property {number} seconds
 * @property {number} bytes - read by the client, headers included
 * @property {number} p50 - ms
 * @property {number} p99 - ms
 * @property {number} errors - socket errors, timeouts and non-2xx answers
 */

/** One autocannon run (see {@link load}), as a {@link Run}. */
export async function autocannonMeasure(target, duration) {
  const result = await load(target, duration)
  return {
    requests: result.requests.total,
    seconds: result.duration,
    bytes: result.throughput.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  }
}

/**
 * A 1 s warm-up of each target, then {@link ROUNDS} runs of `seconds` of each, in alternation (one
 * run of every target per round, in order), so that drift in the machine's load reaches them all.
 * Each run is `measure(target, seconds)` (autocannon by default; see wrk.js for wrk).
 * Returns per target the sums over its runs, and its runs' p50 and p99.
 * @param {Target[]} targets
 * @param {number} seconds
 * @param {(target: Target, seconds: number) => Promise<Run>} [measure]
 */
export async function loadInAlternation(targets, seconds, measure = autocannonMeasure) {
  for (const target of targets) await measure(target, 1)
  const totals = targets.map(() => ({ requests: 0, seconds: 0, bytes: 0, p50: [], p99: [], errors: 0, cpuMs: 0 }))
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, target] of targets.entries()) {
      const cpuBefore = cpuMs(target.pid)
      const result = await measure(target, seconds)
      const total = totals[index]
      total.cpuMs += cpuMs(target.pid) - cpuBefore
      total.requests += result.requests
      total.seconds += result.seconds
      total.bytes += result.bytes
      total.p50.push(result.p50)
      total.p99.push(result.p99)
      total.errors += result.errors
    }
  }
  return totals
}

/**
 * The results of {@link loadInAlternation} as a markdown table: req/s, the median p50 and p99,
 * errors, server CPU per request, and the ratios to each row's baseline (`target.baseline`, else the
 * first row), named `options.baselineName` (default `bare`) in the headers; then `options.columns`,
 * each a header and the cell of a target. Latencies are printed as they are (autocannon's are whole
 * ms), or by `options.formatMs`.
 * @param {{ baselineName?: string, formatMs?: (ms: number) => string, columns?: { header: string, cell: (target: Target, index: number) => string }[] }} [options]
 */
export function loadTable(targets, totals, options = {}) {
  const { baselineName = 'bare', formatMs = String, columns = [] } = options
  const rate = (total) => total.requests / total.seconds
  const cpuPerRequest = (total) => (1000 * total.cpuMs) / total.requests
  return [
    `| server | req/s | p50 | p99 | errors | server CPU per request | req/s ratio to ${baselineName} | CPU ratio (${baselineName} / this) |${columns.map((c) => ` ${c.header} |`).join('')}`,
    `|---|--:|--:|--:|--:|--:|--:|--:|${columns.map(() => '--:|').join('')}`,
    ...targets.map((target, index) => {
      const total = totals[index]
      const baseline = totals[target.baseline ?? 0]
      const cpu = Number.isFinite(total.cpuMs) ? `${cpuPerRequest(total).toFixed(1)} µs` : '-'
      return (
        `| ${target.name} | ${formatCount(rate(total))} | ${formatMs(median(total.p50))} ms | ${formatMs(median(total.p99))} ms | ${total.errors} | ${cpu} | ` +
        `${formatRatio(rate(total) / rate(baseline))} | ${formatRatio(cpuPerRequest(baseline) / cpuPerRequest(total))} |` +
        columns.map((column) => ` ${column.cell(target, index)} |`).join('')
      )
    }),
  ].join('\n')
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

/** The environment of the servers: the caller's without tiercache's variables (so that they cannot change the servers), and the bench plan. */
function serverEnv() {
  const env = { ...process.env }
  for (const name of Object.keys(env)) if (name.startsWith('TIERCACHE_') || name === 'DATABASE_URL' || name === 'REDIS_URL') delete env[name]
  return { ...env, TIERCACHE_PLANS: PLANS }
}
