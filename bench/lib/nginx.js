// Debian's nginx (package `nginx` or `nginx-light`) with `proxy_cache`, for the http-cache suite: a
// configuration of its own in a temp folder (prefix, pid file, temp paths, cache), run in the
// foreground as a child (`nginx -p <dir> -c <conf> -g 'daemon off;'`), stopped with the others by
// stopChildren (SIGTERM: nginx's fast shutdown, its workers exit with it).
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const { fetch } = globalThis

/** What `nginx -V` prints (to stderr): its version and configure flags, for {@link nginxConfig}'s `modules`. */
export function nginxBuild(nginx) {
  const probe = spawnSync(nginx, ['-V'], { encoding: 'utf8', timeout: 5000 })
  return `${probe.stdout ?? ''}${probe.stderr ?? ''}`
}

/** A port free on 127.0.0.1 now (nginx takes no port 0). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/**
 * nginx's configuration: `workers` worker processes (a number, or `auto`: one per core), listening
 * on 127.0.0.1:`port`, caching what `origin` answers in `dir`/cache. Freshness comes from the
 * origin's `Cache-Control` (nginx honours it before `proxy_cache_valid`, which mirrors it for answers
 * without one); `X-Cache-Status` tells how each answer was served. No access log: tiercache's proxy
 * writes none either. `sendfile` and `tcp_nopush` as in Debian's own nginx.conf.
 * @param {{ dir: string, port: number, origin: string, workers: number | 'auto', modules: string }} options
 *   `modules`: the output of `nginx -V`, for the temp paths of the modules it was built with
 */
export function nginxConfig({ dir, port, origin, workers, modules }) {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .filter((name) => name === 'client_body' || name === 'proxy' || !modules.includes(`--without-http_${name}_module`))
    .map((name) => `  ${name}_temp_path ${join(dir, `${name}-temp`)};`)
  return [
    `worker_processes ${workers};`,
    // As root, the workers would run as nobody, who cannot write the temp folder (mode 0700).
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    `pid ${join(dir, 'nginx.pid')};`,
    'error_log stderr warn;',
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    '  sendfile on;',
    '  tcp_nopush on;',
    ...temp,
    `  proxy_cache_path ${join(dir, 'cache')} levels=1:2 keys_zone=bench:10m max_size=64m inactive=2h use_temp_path=off;`,
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    location / {',
    `      proxy_pass ${origin};`,
    '      proxy_cache bench;',
    '      proxy_cache_valid 200 1h;',
    '      add_header X-Cache-Status $upstream_cache_status always;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n')
}

/**
 * Starts nginx (the binary at `nginx`) in front of `origin` with `workers` workers, in a folder
 * `dir` of its own (created), added to `children`; resolves its URL and the pids of its master and
 * workers (whose CPU time is what it spends) once it answers.
 */
export async function startNginx(children, { nginx, dir, origin, workers, modules, expectedWorkers }) {
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, nginxConfig({ dir, port, origin, workers, modules }))
  const child = spawn(nginx, ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let errors = ''
  child.stderr.on('data', (chunk) => (errors += chunk.toString()))
  children.push(child)
  const url = `http://127.0.0.1:${port}`
  // Bounded: 100 tries, 50 ms apart.
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited with ${child.exitCode ?? child.signalCode}: ${errors}`)
    const kids = childPids(child.pid)
    const workerPids = kids.filter((kid) => kid.title.includes('worker process')).map((kid) => kid.pid)
    // The cache manager lives as long as nginx and counts; the cache loader runs a minute after start, briefly, and does not.
    const managerPids = kids.filter((kid) => kid.title.includes('cache manager')).map((kid) => kid.pid)
    if (workerPids.length >= expectedWorkers && (await answers(url))) return { url, pid: [child.pid, ...workerPids, ...managerPids], workers: workerPids.length }
    await sleep(50)
  }
  throw new Error(`nginx did not answer at ${url} within 5 s: ${errors}`)
}

async function answers(url) {
  try {
    await (await fetch(`${url}/__bench/ping`)).arrayBuffer()
    return true
  } catch {
    return false
  }
}

/** The processes whose parent is `pid`: pid and title (from /proc; none where /proc is not there). */
function childPids(pid) {
  let entries
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return []
  }
  const found = []
  for (const name of entries) {
    try {
      // proc(5): the fields after the command's closing parenthesis start with state, then ppid.
      const ppid = Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ')[1])
      if (ppid === pid) found.push({ pid: Number(name), title: readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ') })
    } catch {
      // A process that exited meanwhile.
    }
  }
  return found
}
