// wrk (Debian package `wrk`), the load generator of the http-cache suite: a C program with one
// thread, so that the load costs no JavaScript and the same client loads Node and nginx alike.
//
// {@link wrkMeasure} returns a run in the shape {@link loadInAlternation} (http-load.js) sums.
import { spawn, spawnSync } from 'node:child_process'
import { clearTimeout } from 'node:timers'
import { CONNECTIONS } from './http-load.js'

/**
 * The path of `command` if it runs (looked up in PATH, then in `/usr/sbin` and `/usr/bin`, where
 * Debian puts nginx and wrk), else undefined.
 */
export function findCommand(command, versionArgs) {
  for (const candidate of [command, `/usr/sbin/${command}`, `/usr/bin/${command}`]) {
    const probe = spawnSync(candidate, versionArgs, { encoding: 'utf8', timeout: 5000 })
    if (probe.error === undefined) return { path: candidate, version: `${probe.stdout}${probe.stderr}`.split('\n')[0].trim() }
  }
  return undefined
}

/** One `wrk -t1 -c<CONNECTIONS> -d<seconds>s --latency <url>`; resolves its parsed report. */
export function runWrk(wrk, url, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(wrk, ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let errors = ''
    child.stdout.on('data', (chunk) => (out += chunk.toString()))
    child.stderr.on('data', (chunk) => (errors += chunk.toString()))
    // wrk stops itself after `seconds`; this bounds a wrk that hangs (a server that never answers).
    const deadline = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000)
    child.once('error', (error) => {
      clearTimeout(deadline)
      reject(error)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(deadline)
      if (code !== 0) reject(new Error(`wrk ${url} exited with ${code ?? signal}: ${errors}${out}`))
      else resolve(parseWrk(out))
    })
  })
}

/**
 * wrk's report, e.g. `  Latency Distribution\n     50%  458.00us\n ... 99%    5.76ms\n  26250 requests in 1.00s,
 * 30.99MB read\n  Non-2xx or 3xx responses: 3\n  Socket errors: connect 0, read 1, write 0, timeout 0`: requests,
 * seconds, bytes read, p50 and p99 in ms, and the errors (non-2xx/3xx answers plus socket errors).
 * @throws Error when the report has no request count or latency distribution
 */
export function parseWrk(out) {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?B) read/.exec(out)
  const p50 = /^\s*50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out)
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out)
  if (total === null || p50 === null || p99 === null) throw new Error(`cannot read wrk's report: ${out}`)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0)
  return {
    requests: Number(total[1]),
    seconds: (Number(total[2]) * UNIT_MS[total[3]]) / 1000,
    bytes: Number(total[4]) * BYTE_UNITS[total[5]],
    p50: round(Number(p50[1]) * UNIT_MS[p50[2]]),
    p99: round(Number(p99[1]) * UNIT_MS[p99[2]]),
    errors: (non2xx === null ? 0 : Number(non2xx[1])) + socketErrors,
  }
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const BYTE_UNITS = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40 }

/** Milliseconds to three significant digits at most (wrk prints two decimals in its own unit). */
function round(ms) {
  return ms >= 10 ? Math.round(ms * 10) / 10 : ms >= 1 ? Math.round(ms * 100) / 100 : Math.round(ms * 1000) / 1000
}

/** A `measure` for {@link loadInAlternation}: one wrk run of `seconds` against `target.url`. */
export function wrkMeasure(wrk) {
  return (target, seconds) => runWrk(wrk, target.url, seconds)
}
