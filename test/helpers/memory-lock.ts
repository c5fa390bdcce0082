import { randomUUID } from 'node:crypto'
import type { DistributedLock } from '../../src/bus/lock.js'

/**
 * A {@link DistributedLock} in process memory, for unit tests of the engine's logic: several caches
 * in one test share it as processes share Redis. The Redis lock is proven against real Redis.
 */
export class MemoryLock implements DistributedLock {
  readonly held = new Map<string, { token: string; until: number }>()
  private readonly waiters = new Map<string, Set<() => void>>()
  acquisitions = 0

  async acquire(name: string, ttlMs: number): Promise<string | undefined> {
    const current = this.held.get(name)
    if (current !== undefined && current.until > Date.now()) return undefined
    const token = randomUUID()
    this.held.set(name, { token, until: Date.now() + ttlMs })
    this.acquisitions++
    return token
  }

  async extend(name: string, token: string, ttlMs: number): Promise<boolean> {
    const current = this.held.get(name)
    if (current?.token !== token) return false
    current.until = Date.now() + ttlMs
    return true
  }

  async release(name: string, token: string): Promise<void> {
    if (this.held.get(name)?.token !== token) return
    this.held.delete(name)
    for (const wake of this.waiters.get(name) ?? []) wake()
    this.waiters.delete(name)
  }

  waitForRelease(name: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.waiters.get(name)
      if (waiters === undefined) this.waiters.set(name, (waiters = new Set()))
      const wake = () => {
        clearTimeout(timer)
        waiters.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, timeoutMs)
      waiters.add(wake)
    })
  }

  async close(): Promise<void> {
    for (const waiters of this.waiters.values()) for (const wake of waiters) wake()
  }
}
