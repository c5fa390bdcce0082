import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import type { HistogramFamily, Labels, MetricFamily, MetricsSnapshot } from '../../src/cache/instruments/snapshot.js'
import type { MemoryTier } from '../../src/tiers/memory.js'
import { type SqliteTier, createSqliteTier } from '../../src/tiers/sql/sqlite/index.js'

/** `name{a="x",b="y"}`, labels in their order: how a series reads in Prometheus's text format. */
export function seriesName(name: string, labels: Labels): string {
  const pairs = Object.entries(labels).map(([label, value]) => `${label}="${value}"`)
  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`
}

/** Every counter and gauge sample that is not zero, by series name: what a workload changed. */
export function nonZero(snapshot: MetricsSnapshot, type: 'counter' | 'gauge' = 'counter'): Record<string, number> {
  const found: Record<string, number> = {}
  for (const family of snapshot.families) {
    if (family.type !== type) continue
    for (const { labels, value } of family.samples) if (value !== 0) found[seriesName(family.name, labels)] = value
  }
  return found
}

export function family(snapshot: MetricsSnapshot, name: string): MetricFamily {
  const found = snapshot.families.find((f) => f.name === name)
  if (found === undefined) throw new Error(`no family ${name}`)
  return found
}

/** The value of one counter or gauge series, undefined when the series is absent. */
export function valueOf(snapshot: MetricsSnapshot, name: string, labels: Labels): number | undefined {
  const f = family(snapshot, name)
  if (f.type === 'histogram') throw new Error(`${name} is a histogram`)
  return f.samples.find((s) => seriesName(name, s.labels) === seriesName(name, labels))?.value
}

/** Observation counts of each series of a histogram, by series name. */
export function observations(snapshot: MetricsSnapshot, name: string): Record<string, number> {
  const f = family(snapshot, name) as HistogramFamily
  expect(f.type).toBe('histogram')
  return Object.fromEntries(f.samples.map((s) => [seriesName(name, s.labels), s.count]))
}

/** Series names of a family, in order. */
export function seriesOf(snapshot: MetricsSnapshot, name: string): string[] {
  return family(snapshot, name).samples.map((s) => seriesName(name, s.labels))
}

/** The memory tier behind a cache. */
export function l1Of(cache: Cache): MemoryTier {
  const l1 = (cache as unknown as { core: { stack: { l1: MemoryTier | undefined } } }).core.stack.l1
  if (l1 === undefined) throw new Error('no L1')
  return l1
}

/** An SQLite tier on a file of its own, and how to remove it. */
export function sqliteTier(): { tier: SqliteTier; remove: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-instruments-'))
  const tier = createSqliteTier({ path: join(dir, 'cache.db'), cleanupIntervalMs: 0 })
  return {
    tier,
    remove: async () => {
      await tier.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
