import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { BusEnvelope, BusHandlers, BusMessage, DeafReason } from '../../src/bus/bus.js'

/** A channel (or prefix) of the test's own on the shared Redis, so that tests never hear each other. */
export function uniqueChannel(what = 'bus'): string {
  return `tiercache:test:${what}:${randomUUID()}`
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `predicate` every 5 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 3_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** One recorded handler call, in order. */
export type BusEvent =
  | { readonly kind: 'message'; readonly message: BusMessage; readonly envelope: BusEnvelope; readonly at: number }
  | { readonly kind: 'deaf'; readonly reason: DeafReason; readonly at: number }
  | { readonly kind: 'listening'; readonly at: number }

/** {@link BusHandlers} that record every call, with the time it came (performance.now()). */
export class Recorder implements BusHandlers {
  readonly events: BusEvent[] = []

  message(message: BusMessage, envelope: BusEnvelope): void {
    this.events.push({ kind: 'message', message, envelope, at: performance.now() })
  }
  deaf(reason: DeafReason): void {
    this.events.push({ kind: 'deaf', reason, at: performance.now() })
  }
  listening(): void {
    this.events.push({ kind: 'listening', at: performance.now() })
  }

  get messages(): BusMessage[] {
    return this.events.flatMap((event) => (event.kind === 'message' ? [event.message] : []))
  }
  get envelopes(): BusEnvelope[] {
    return this.events.flatMap((event) => (event.kind === 'message' ? [event.envelope] : []))
  }
  get deafReasons(): DeafReason[] {
    return this.events.flatMap((event) => (event.kind === 'deaf' ? [event.reason] : []))
  }
  get listenings(): number {
    return this.events.filter((event) => event.kind === 'listening').length
  }
  /** The kinds in order, with reasons: e.g. `['listening', 'deaf:gap', 'listening', 'message']`. */
  get trace(): string[] {
    return this.events.map((event) => (event.kind === 'deaf' ? `deaf:${event.reason}` : event.kind))
  }
  clear(): void {
    this.events.length = 0
  }
}

/** An envelope as another instance would send it, for raw PUBLISH. */
export function envelope(sender: string, seq: number, message: BusMessage = { type: 'delete', namespace: 'n', keys: [`k${seq}`] }): BusEnvelope {
  return { v: 1, sender, seq, at: Date.now(), message }
}

/** PUBLISHes raw payloads on a plain connection, bypassing the bus. */
export async function rawPublish(url: string, channel: string, ...payloads: string[]): Promise<void> {
  const client = new Redis(url)
  try {
    for (const payload of payloads) await client.publish(channel, payload)
  } finally {
    client.disconnect()
  }
}

/** CLIENT KILLs every connection named `name` on the server at `url`; resolves how many. */
export async function killClientsNamed(url: string, name: string): Promise<number> {
  const admin = new Redis(url)
  try {
    const list = await admin.client('LIST')
    const ids = String(list)
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined)
    for (const id of ids) await admin.client('KILL', 'ID', id)
    return ids.length
  } finally {
    admin.disconnect()
  }
}

/** The pid of the redis-server at `url` (to SIGSTOP / SIGCONT it). */
export async function serverPid(url: string): Promise<number> {
  const admin = new Redis(url)
  try {
    const info = await admin.info('server')
    const pid = /process_id:(\d+)/.exec(info)?.[1]
    if (pid === undefined) throw new Error('no process_id in INFO')
    return Number(pid)
  } finally {
    admin.disconnect()
  }
}

/** Percentile `p` (0-100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? Number.NaN
}
