import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { vi } from 'vitest'
import { KeyvTiercache } from '../../src/adapters/keyv.js'
import type { Cache, CacheOptions, TierErrorEvent } from '../../src/index.js'

/**
 * Temp SQLite files and the adapters opened on them, for one test file: `cleanup()` disconnects
 * every adapter (closing the caches they created) and removes the folder.
 */
export class KeyvFixtures {
  readonly root = mkdtempSync(join(tmpdir(), 'tiercache-keyv-'))
  /** Tier errors seen by every cache of these fixtures: a passing test with tier errors proves nothing about L3. */
  readonly tierErrors: TierErrorEvent[] = []
  private readonly adapters: KeyvTiercache[] = []
  private readonly caches: Cache[] = []
  private files = 0

  /** A fresh database path in a sub-folder that does not exist yet. */
  sqlitePath(): string {
    this.files++
    return join(this.root, `db-${this.files}`, 'cache.db')
  }

  /** An adapter, tracked for cleanup. */
  adapter(cacheOrOptions: Cache | CacheOptions): KeyvTiercache {
    const adapter = new KeyvTiercache(cacheOrOptions)
    if (adapter.cache !== cacheOrOptions) this.watch(adapter.cache)
    this.adapters.push(adapter)
    return adapter
  }

  /** Tracks a cache the test created itself, to close it at cleanup. */
  track(cache: Cache): Cache {
    this.caches.push(cache)
    this.watch(cache)
    return cache
  }

  private watch(cache: Cache): void {
    cache.on('tier:error', (event) => this.tierErrors.push(event))
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.adapters.map((adapter) => adapter.disconnect()))
    await Promise.all(this.caches.map((cache) => cache.close()))
    rmSync(this.root, { recursive: true, force: true })
  }
}

/** Moves `Date.now()` (only) forward by `ms` while `run` runs, as Keyv's and tiercache's clocks. */
export async function later<T>(ms: number, run: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(Date.now() + ms)
  try {
    return await run()
  } finally {
    vi.useRealTimers()
  }
}
