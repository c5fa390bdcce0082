// Suite: cached responses (RFC 9111 shared caches) of one ~1 KB JSON route, loaded with wrk over
// loopback: the origin served directly; tiercache's reverse proxy in front of it, as `tiercache proxy`
// (L1 + SQLite) and on L1 alone; a Fastify app answering the same route, bare and with tiercache's
// Fastify plugin (a row skipped while dist/ has no plugin); and Debian's nginx with `proxy_cache` in
// front of the same origin, with one worker (as one Node process) and with one per core.
//
// Every server runs in a child process of its own, and wrk (a C program, one thread) in another:
// the load costs no JavaScript, and the same client loads Node and nginx alike. Before every run of
// a caching row the suite checks that the answer is a hit (`Cache-Status: tiercache; hit`, nginx's
// `X-Cache-Status: HIT`) with the origin's bytes, and it counts the requests the origin (or the
// Fastify route's handler) answered during each run: a cached row's must be 0, else the suite fails
// with the reasons (and the table, for a look, not for the docs). As in the rest suite,
// the rows are measured in alternation, twice each after a 1 s warm-up, and the server's CPU time
// (from /proc; for nginx, the master, its workers and its cache manager) is divided by the requests.
import { mkdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { tempDir } from '../lib/fixtures.js'
import { BODY, BODY_BYTES, COUNT_PATH, ROUTE } from '../lib/http-origin.js'
import { BIN, CONNECTIONS, ROOT, ROUNDS, loadInAlternation, loadTable, runSeconds, startServer, stopChildren } from '../lib/http-load.js'
import { nginxBuild, startNginx } from '../lib/nginx.js'
import { findCommand, runWrk } from '../lib/wrk.js'

const { fetch } = globalThis

export default {
  name: 'http-cache',
  title: `HTTP cache: a cached ~1 KB GET through tiercache proxy, the Fastify plugin and nginx proxy_cache, beside the origin (wrk, ${CONNECTIONS} connections, loopback)`,
  async run(timing) {
    // --quick: 1 s per run; else 5 s, with a 1 s warm-up before each server's first run.
    const seconds = runSeconds(timing)
    const wrk = findCommand('wrk', ['--version'])
    if (wrk === undefined) {
      return { rows: [], notes: ['skipped: wrk is not installed; every row of this suite is measured with it. Install the Debian package `wrk` (`apt-get install -y wrk`).'] }
    }
    const nginx = findCommand('nginx', ['-v'])
    const dir = tempDir('http-cache')
    const children = []
    const skipped = []
    try {
      const origin = await startServer(children, [join(ROOT, 'bench/lib/origin-server.js')], dir.path, /listening (\S+)/)
      const originCalls = counter(origin.url)
      const targets = [{ name: 'origin, direct (node:http)', url: origin.url + ROUTE, pid: origin.pid, calls: originCalls }]

      // The real command, as users run it: L1 + SQLite (its default file, in the server's temp folder).
      const proxy = await startServer(children, [BIN, 'proxy', '--origin', origin.url, '--port', '0'], folder(dir, 'proxy'), /tiercache listening on (\S+)/)
      targets.push({ name: 'tiercache proxy (CLI: L1 + SQLite), cached GET', url: proxy.url + ROUTE, pid: proxy.pid, calls: originCalls, hit: tiercacheHit })
      const memoryProxy = await startServer(children, [join(ROOT, 'bench/lib/proxy-server.js'), origin.url], folder(dir, 'proxy-memory'), /listening (\S+)/)
      targets.push({ name: 'tiercache proxy (L1 only), cached GET', url: memoryProxy.url + ROUTE, pid: memoryProxy.pid, calls: originCalls, hit: tiercacheHit })

      const bare = await startServer(children, [join(ROOT, 'bench/lib/fastify-app.js')], folder(dir, 'fastify'), /listening (\S+)/)
      targets.push({ name: 'Fastify route, no cache', url: bare.url + ROUTE, pid: bare.pid, calls: counter(bare.url) })
      const missingPlugin = await pluginMissing()
      if (missingPlugin === undefined) {
        const app = await startServer(children, [join(ROOT, 'bench/lib/fastify-app.js'), '--plugin'], folder(dir, 'fastify-plugin'), /listening (\S+)/)
        targets.push({ name: 'Fastify route + tiercache plugin, cached GET', url: app.url + ROUTE, pid: app.pid, calls: counter(app.url), hit: tiercacheHit })
      } else {
        skipped.push(`Fastify plugin row skipped: ${missingPlugin}.`)
      }

      if (nginx === undefined) {
        skipped.push('nginx rows skipped: nginx is not installed. Install the Debian package `nginx-light` or `nginx` (`apt-get install -y nginx-light`).')
      } else {
        const modules = nginxBuild(nginx.path)
        for (const [workers, expected, label] of [
          [1, 1, '1 worker'],
          ['auto', availableParallelism(), `worker_processes auto (${availableParallelism()})`],
        ]) {
          const server = await startNginx(children, { nginx: nginx.path, dir: folder(dir, `nginx-${workers}`), origin: origin.url, workers, modules, expectedWorkers: expected })
          targets.push({ name: `nginx proxy_cache, ${label}`, url: server.url + ROUTE, pid: server.pid, calls: originCalls, hit: nginxHit })
        }
      }

      // The first request of each caching row is a miss that stores the answer; then it must be a hit.
      for (const target of targets) {
        target.seen = new Map()
        target.callsUnderLoad = 0
        if (target.hit !== undefined) await prime(target)
      }
      const measure = async (target, duration) => {
        if (target.hit !== undefined) await check(target)
        const before = await target.calls()
        const run = await runWrk(wrk.path, target.url, duration)
        target.callsUnderLoad += (await target.calls()) - before
        return run
      }
      const totals = await loadInAlternation(targets, seconds, measure)
      for (const target of targets) if (target.hit !== undefined) await check(target)

      const table = loadTable(targets, totals, {
        baselineName: 'origin',
        formatMs: (ms) => ms.toPrecision(3),
        columns: [{ header: 'origin (or route) calls under load', cell: (target) => target.callsUnderLoad.toLocaleString('en-US') }],
      })
      const problems = targets.flatMap((target, index) => problemsOf(target, totals[index]).map((problem) => `${target.name}: ${problem}`))
      // A cached row that was not served from the cache measures something else: no table to paste.
      if (problems.length > 0) throw new Error(`invalid rows:\n${problems.map((line) => `- ${line}`).join('\n')}\n\n${table}`)

      const plugin = targets.findIndex((target) => target.name.startsWith('Fastify route + tiercache'))
      const fastify = targets.findIndex((target) => target.name.startsWith('Fastify route, no cache'))
      const rate = (index) => totals[index].requests / totals[index].seconds
      const cpu = (index) => totals[index].cpuMs / totals[index].requests
      const checks = [
        ...targets.filter((target) => target.hit !== undefined).map((target) => `${target.name}: before each run and after the last, ${describeSeen(target.seen)}`),
        'no cached row reached the origin (or the route) from its warm-up on, and no row had an error',
        ...(plugin === -1 ? [] : [`Fastify plugin against the same route without it: ${ratio(rate(plugin) / rate(fastify))} the req/s, ${ratio(cpu(fastify) / cpu(plugin))} by CPU (bare / plugin)`]),
        `wrk: ${wrk.version.replace(/ Copyright.*/, '')}${nginx === undefined ? '' : `; nginx: ${nginx.version.replace(/^nginx version: /, '')}`}`,
        ...skipped,
      ]
      const notes = [
        table,
        `Each row: ${ROUNDS} runs of ${seconds} s (\`wrk -t1 -c${CONNECTIONS} -d${seconds}s --latency\`) in alternation with the other rows, after a 1 s warm-up; ` +
          `req/s over all runs, latency the median of the runs' p50 and p99 (wrk's, to three digits); server CPU from /proc over the same runs ` +
          `(nginx: master, workers and cache manager). Ratios are to the origin served directly. Body: ${BODY_BYTES} bytes of JSON, ` +
          '`Cache-Control: public, max-age=3600`, a strong ETag. Calls under load include the warm-up. tiercache proxy: the CLI (L1 + SQLite in a temp ' +
          'folder) and `startProxy` on L1 alone (bench/lib/proxy-server.js); Fastify plugin: `createCache()`, the embedded default; ' +
          'nginx: `proxy_cache` on disk in a temp folder, no access log; the 1-worker row matches one Node process, the other uses every core, beside wrk.',
        checks.map((line) => `- ${line}`).join('\n'),
      ]
      return { rows: [], notes }
    } finally {
      await stopChildren(children)
      dir.remove()
    }
  },
}

/** What makes a row's figures wrong: errors under load; for a cached row, origin calls or an answer that was not a hit. */
function problemsOf(target, total) {
  const problems = []
  if (total.errors > 0) problems.push(`${total.errors} errors (non-2xx answers or socket errors) under load`)
  if (target.hit === undefined) return problems
  if (target.callsUnderLoad !== 0) problems.push(`${target.callsUnderLoad} requests reached the origin (or the route) under load`)
  const misses = [...target.seen.keys()].filter((status) => !status.startsWith('hit:'))
  if (misses.length > 0) problems.push(`answered ${misses.join(', ')}`)
  return problems
}

/** A subfolder of the suite's temp folder, the working folder of one server. */
function folder(dir, name) {
  const path = join(dir.path, name)
  mkdirSync(path, { recursive: true })
  return path
}

/** Reads how many requests the route of the server at `base` has answered. */
function counter(base) {
  return async () => (await (await fetch(base + COUNT_PATH)).json()).requests
}

/** Why the Fastify plugin cannot be loaded, or undefined when it can. */
async function pluginMissing() {
  try {
    const module = await import('tiercache/http-cache')
    return typeof module.httpCachePlugin === 'function' ? undefined : 'tiercache/http-cache (dist/) exports no httpCachePlugin yet'
  } catch (error) {
    return `tiercache/http-cache cannot be loaded: ${error instanceof Error ? error.message : String(error)}`
  }
}

/** `hit: <Cache-Status>` when a tiercache answer says it was a hit, else `not a hit: ...`. */
function tiercacheHit(headers) {
  const status = headers.get('cache-status') ?? '(no Cache-Status)'
  return /^tiercache; hit(;|$)/.test(status) ? `hit: ${status}` : `not a hit: ${status}`
}

function nginxHit(headers) {
  const status = headers.get('x-cache-status') ?? '(no X-Cache-Status)'
  return status === 'HIT' ? `hit: X-Cache-Status ${status}` : `not a hit: X-Cache-Status ${status}`
}

/** One GET of the row's URL: how it was served, checked for the origin's status and body. */
async function probe(target) {
  const response = await fetch(target.url)
  const body = await response.text()
  if (response.status !== 200 || body !== BODY) return `wrong answer: ${response.status}, ${body.length} characters`
  return target.hit(response.headers)
}

/** Sends requests (at most 40, 50 ms apart) until the row answers a hit; throws if it never does. */
async function prime(target) {
  let last
  for (let attempt = 0; attempt < 40; attempt++) {
    last = await probe(target)
    if (last.startsWith('hit:')) return
    await sleep(50)
  }
  throw new Error(`${target.name} never answered a cache hit; last: ${last}`)
}

/** Records how the row answers now (before a run, or after the last). */
async function check(target) {
  // The remaining freshness (`ttl=3599`) changes from check to check: grouped without it.
  const status = (await probe(target)).replace(/; ttl=\d+/, '')
  target.seen.set(status, (target.seen.get(status) ?? 0) + 1)
}

function describeSeen(seen) {
  return [...seen].map(([status, count]) => `${status.replace(/^hit: /, '')} (×${count})`).join(', ')
}

function ratio(value) {
  return `${value.toFixed(2)}×`
}
