// Parent side of the multi-process tests: starts worker processes (test/fixtures/mp-worker.ts, each
// one application instance with its own cache) and talks to them over IPC. Every worker started is
// remembered until killed, so that `killAllWorkers()` in an afterEach leaves no process behind, even
// when a test fails half-way.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Command, Op, Ready, Reply, Results, WorkerOptions } from '../fixtures/mp-protocol.js'

const registerTypeScript = pathToFileURL(fileURLToPath(new URL('../fixtures/register-ts.mjs', import.meta.url))).href
const workerScript = fileURLToPath(new URL('../fixtures/mp-worker.ts', import.meta.url))

/** A worker process, as the test drives it. */
export interface Worker {
  readonly pid: number
  /** Sends a command; resolves its result, rejects with the worker's error or after `timeoutMs`. */
  call<O extends Op>(command: Extract<Command, { op: O }>, timeoutMs?: number): Promise<Results[O]>
  /** SIGKILLs the worker and waits until it has exited. Idempotent. */
  kill(): Promise<void>
}

const running = new Set<ChildProcess>()

/** A short random name, for a Redis prefix or a cache namespace of one test's own. */
export function uniqueName(label: string): string {
  return `mp-${label}-${randomUUID().slice(0, 8)}`
}

/** Starts `count` workers in parallel; resolves once all are ready. `options(i)` configures worker i. */
export async function startWorkers(count: number, options: (index: number) => WorkerOptions, readyTimeoutMs = 60_000): Promise<Worker[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startWorker(options(i), readyTimeoutMs)))
}

/** Kills every worker still running (for afterEach). */
export async function killAllWorkers(): Promise<void> {
  await Promise.all([...running].map((child) => killChild(child)))
}

async function startWorker(options: WorkerOptions, readyTimeoutMs: number): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', registerTypeScript, workerScript, JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  running.add(child)
  child.once('exit', () => running.delete(child))

  let nextId = 1
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>()
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`worker ${child.pid} exited (code ${code}, signal ${signal})`)))
  void exited.then((why) => {
    for (const { reject } of pending.values()) reject(new Error(why))
    pending.clear()
  })

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${child.pid} not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs)
    const onMessage = (message: Ready | Reply) => {
      if (!('ready' in message)) return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve()
    }
    child.on('message', onMessage)
    void exited.then((why) => {
      clearTimeout(timer)
      reject(new Error(`${why} before it was ready`))
    })
  })

  child.on('message', (message: Ready | Reply) => {
    if ('ready' in message) return
    const waiter = pending.get(message.id)
    if (waiter === undefined) return
    pending.delete(message.id)
    if (message.ok) waiter.resolve(message.result)
    else waiter.reject(new Error(`worker ${child.pid}: ${message.error}`))
  })

  return {
    pid: child.pid as number,
    call<O extends Op>(command: Extract<Command, { op: O }>, timeoutMs = 15_000): Promise<Results[O]> {
      const id = nextId++
      return new Promise<Results[O]>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`worker ${child.pid}: no answer to ${command.op} within ${timeoutMs} ms`))
        }, timeoutMs)
        pending.set(id, {
          resolve: (result) => {
            clearTimeout(timer)
            resolve(result as Results[O])
          },
          reject: (error) => {
            clearTimeout(timer)
            reject(error)
          },
        })
        child.send({ ...command, id }, (error) => {
          if (error === null) return
          pending.delete(id)
          clearTimeout(timer)
          reject(new Error(`worker ${child.pid}: cannot send ${command.op}: ${error.message}`))
        })
      })
    },
    kill: () => killChild(child),
  }
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

/** Percentile `p` (0-100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] as number
}
