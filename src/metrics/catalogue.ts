/**
 * The metric families a cache exposes, by name and type, as docs/metrics.md lists them. Prometheus
 * collectors are registered from this list before the first scrape (a registry cannot learn names
 * at scrape time), so every family of a {@link MetricsSnapshot} must be here; a test checks this
 * list against docs/metrics.md and against a real snapshot.
 */
import type { MetricFamily } from '../cache/instruments/snapshot.js'

/** One family of the catalogue: its Prometheus name, type and help line. */
export interface CatalogueEntry {
  readonly name: string
  readonly type: MetricFamily['type']
  /** Used when a snapshot lacks the family; otherwise the snapshot's own help is shown. */
  readonly help: string
}

const counter = (name: string, help: string): CatalogueEntry => ({ name, type: 'counter', help })
const gauge = (name: string, help: string): CatalogueEntry => ({ name, type: 'gauge', help })
const histogram = (name: string, help: string): CatalogueEntry => ({ name, type: 'histogram', help })

/** Every family, in the order of docs/metrics.md. */
export const METRIC_CATALOGUE: readonly CatalogueEntry[] = [
  counter('tiercache_requests_total', 'Lookups of a key by get, getOrSet and getMany (one per key).'),
  counter('tiercache_hits_total', 'Lookups a tier answered with a fresh entry.'),
  counter('tiercache_stale_hits_total', 'Stale entries served, by why they were allowed.'),
  counter('tiercache_misses_total', 'Tiers asked that had no fresh entry, by reason.'),
  counter('tiercache_writes_total', 'Entries written, by a set or a factory result, or a backfill.'),
  counter('tiercache_deletes_total', 'Keys deleted by delete.'),
  counter('tiercache_invalidations_total', 'Removals asked of this cache: by key, tags, clear or scope.'),
  counter('tiercache_evictions_total', 'Entries a tier dropped on its own, by reason.'),
  counter('tiercache_coalesced_total', 'Lookups that joined an origin call already in flight.'),
  counter('tiercache_errors_total', 'Tier operations that threw or timed out.'),
  counter('tiercache_circuit_changes_total', 'Circuit transitions, by the state entered.'),
  counter('tiercache_bus_messages_total', 'Bus messages sent and received.'),
  counter('tiercache_origin_calls_total', 'Factory calls, by outcome.'),
  counter('tiercache_origin_calls_saved_total', 'getOrSet lookups answered without calling the origin.'),
  counter('tiercache_origin_cost_saved_total', "Origin calls saved times the namespace's configured cost of one call."),
  gauge('tiercache_entries', "Entries a tier holds in this cache's namespaces."),
  gauge('tiercache_bytes', 'Bytes of those entries, where the tier can tell cheaply.'),
  gauge('tiercache_capacity_entries', "L1's maxEntries."),
  gauge('tiercache_capacity_bytes', "L1's maxBytes."),
  gauge('tiercache_circuit_open', "1 while the tier's circuit is open or half-open, else 0."),
  gauge('tiercache_bus_listening', '1 while the bus listens, 0 while deaf.'),
  histogram('tiercache_tier_read_duration_seconds', 'Reads of a tier, seconds.'),
  histogram('tiercache_get_or_set_duration_seconds', 'getOrSet calls from call to answer, seconds.'),
  histogram('tiercache_origin_duration_seconds', 'Factory calls to their result or failure, seconds.'),
]
