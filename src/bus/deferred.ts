import { type Lazy, lazy } from '../core/lazy.js'
import { CacheClosedError } from '../errors.js'
import type { DistributedLock } from './lock.js'
import type { Bus, BusHandlers, BusMessage } from './bus.js'

/**
 * A bus whose implementation opens asynchronously (ioredis is an optional dependency, imported on
 * first use), so that `createCache` stays synchronous. Until it has opened, it is not listening. A
 * failed opening is retried on the next call (the rule of {@link lazy}).
 */
export class DeferredBus implements Bus {
  private readonly backend: Lazy<Bus>

  constructor(
    readonly id: string,
    open: () => Promise<Bus>,
  ) {
    this.backend = lazy(open, () => new CacheClosedError('bus is closed'))
  }

  get listening(): boolean {
    return this.backend.value?.listening ?? false
  }

  async publish(message: BusMessage): Promise<void> {
    return (await this.backend.get()).publish(message)
  }

  async start(handlers: BusHandlers): Promise<void> {
    return (await this.backend.get()).start(handlers)
  }

  async close(): Promise<void> {
    const bus = await this.backend.close()
    await bus?.close()
  }
}

/** A {@link DistributedLock} whose implementation opens asynchronously; see {@link DeferredBus}. */
export class DeferredLock implements DistributedLock {
  private readonly backend: Lazy<DistributedLock>

  constructor(open: () => Promise<DistributedLock>) {
    this.backend = lazy(open, () => new CacheClosedError('lock is closed'))
  }

  async acquire(name: string, ttlMs: number): Promise<string | undefined> {
    return (await this.backend.get()).acquire(name, ttlMs)
  }

  async extend(name: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.backend.get()).extend(name, token, ttlMs)
  }

  async release(name: string, token: string): Promise<void> {
    return (await this.backend.get()).release(name, token)
  }

  /** As the lock's: never rejects; at once after close; waits out `timeoutMs` when the lock cannot be opened. */
  async waitForRelease(name: string, timeoutMs: number): Promise<void> {
    let lock: DistributedLock
    try {
      lock = await this.backend.get()
    } catch (error) {
      if (error instanceof CacheClosedError) return
      return new Promise((resolve) => setTimeout(resolve, timeoutMs))
    }
    return lock.waitForRelease(name, timeoutMs)
  }

  async close(): Promise<void> {
    const lock = await this.backend.close()
    await lock?.close()
  }
}
