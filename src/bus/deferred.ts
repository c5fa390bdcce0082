import type { DistributedLock } from './lock.js'
import type { Bus, BusHandlers, BusMessage } from './bus.js'

/**
 * A bus whose implementation loads asynchronously (ioredis is an optional dependency, imported on
 * first use), so that `createCache` stays synchronous. Until it has loaded, it is not listening.
 */
export class DeferredBus implements Bus {
  private bus: Bus | undefined
  private readonly loading: Promise<Bus>

  constructor(
    readonly id: string,
    load: () => Promise<Bus>,
  ) {
    this.loading = load().then((bus) => (this.bus = bus))
    // A failed load surfaces through start() and publish(); never as an unhandled rejection.
    this.loading.catch(() => undefined)
  }

  get listening(): boolean {
    return this.bus?.listening ?? false
  }

  async publish(message: BusMessage): Promise<void> {
    return (await this.loading).publish(message)
  }

  async start(handlers: BusHandlers): Promise<void> {
    return (await this.loading).start(handlers)
  }

  async close(): Promise<void> {
    const bus = await this.loading.catch(() => undefined)
    await bus?.close()
  }
}

/** A {@link DistributedLock} whose implementation loads asynchronously; see {@link DeferredBus}. */
export class DeferredLock implements DistributedLock {
  private readonly loading: Promise<DistributedLock>

  constructor(load: () => Promise<DistributedLock>) {
    this.loading = load()
    this.loading.catch(() => undefined)
  }

  async acquire(name: string, ttlMs: number): Promise<string | undefined> {
    return (await this.loading).acquire(name, ttlMs)
  }

  async extend(name: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.loading).extend(name, token, ttlMs)
  }

  async release(name: string, token: string): Promise<void> {
    return (await this.loading).release(name, token)
  }

  async waitForRelease(name: string, timeoutMs: number): Promise<void> {
    const lock = await this.loading.catch(() => undefined)
    if (lock === undefined) return new Promise((resolve) => setTimeout(resolve, timeoutMs))
    return lock.waitForRelease(name, timeoutMs)
  }

  async close(): Promise<void> {
    const lock = await this.loading.catch(() => undefined)
    await lock?.close()
  }
}
