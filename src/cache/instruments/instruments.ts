import type { Level } from '../../core/level.js'
import type { CircuitState } from '../circuit-breaker.js'
import { namespaceOf, tenantOf } from '../scope.js'
import type { ResolvedMetricsOptions } from './options.js'
import { type InvalidationKind, Histogram, INVALIDATION_INDEX, LEVELS, LEVEL_INDEX, NamespaceSeries, bump, countdown } from './series.js'

/** The label of namespaces past `maxNamespaces`, and of tenants past `tenants.max`. */
export const OTHER = '_other'
/** The namespace label of removals that reach every namespace (of the scope, for an erasure). */
export const EVERY_NAMESPACE = '*'

/** Storage namespaces whose series are remembered; past it the memo starts over (it is only a memo). */
const MEMO_SIZE = 4096
/** Storage namespaces remembered for the shared tiers' entry gauges; later ones are not counted. */
export const MAX_COUNTED_NAMESPACES = 10_000

/** Operations of a shared tier present at zero in `tiercache_errors_total`; others appear when they fail. */
export const TIER_OPERATIONS = ['get', 'getMany', 'set', 'delete', 'deleteByTags', 'clear', 'clearPrefix', 'keys', 'namespaces', 'count', 'rewrite', 'repair'] as const

export const CIRCUIT_STATES: readonly CircuitState[] = ['open', 'half-open', 'closed']

/**
 * The instruments of one cache and its views: counters and histograms per namespace (the logical
 * one: a tenant's `flights` and the public `flights` share series unless tenants are labelled), and
 * per tier. Series are created when a namespace is first seen, every slot at zero. Off
 * (`metrics: false`), every namespace shares one series, nothing is timed, and nothing is looked up:
 * the totals of `stats()` are still counted.
 */
export class Instruments {
  readonly on: boolean
  /** Time one L1 read and one getOrSet in this many; 0: none. */
  readonly sampleEvery: number
  /** Shared tier errors per level, by operation. */
  readonly errors = new Map<Level, Map<string, number>>()
  /** Per level × {@link CIRCUIT_STATES}. */
  readonly circuitChanges = new Float64Array(LEVELS.length * CIRCUIT_STATES.length)
  busSent = 0
  busReceived = 0
  /** Per level: L1's one per sampled key, the shared tiers' one per call. */
  readonly tierReads = LEVELS.map(() => new Histogram())
  /** Counts down to the next timed L1 read, as `NamespaceSeries.untilTimed` does; then {@link l1TimedNow}. */
  untilL1Timed = 1
  /** Storage namespaces seen, for the shared tiers' entry gauges (at most {@link MAX_COUNTED_NAMESPACES}). */
  readonly seenStorage = new Set<string>()
  private readonly bySeries = new Map<string, NamespaceSeries>()
  private readonly memo = new Map<string, NamespaceSeries>()
  private readonly namespaces = new Set<string>()
  private readonly tenants = new Set<string>()
  /** Removals of every namespace, per tenant label, by kind. */
  private readonly everywhere = new Map<string, NamespaceSeries>()
  private readonly single: NamespaceSeries | undefined

  /** The options labels follow; off, never read (every namespace has the one series). */
  private readonly labelling: Exclude<ResolvedMetricsOptions, false>

  constructor(readonly options: ResolvedMetricsOptions) {
    this.on = options !== false
    this.labelling = options === false ? { maxNamespaces: 0, tenants: false, costs: {}, sampleEvery: 0 } : options
    this.sampleEvery = options === false ? 0 : options.sampleEvery
    this.single = options === false ? new NamespaceSeries(EVERY_NAMESPACE, { namespace: EVERY_NAMESPACE }, 0) : undefined
    for (const level of LEVELS) if (level !== 'l1') this.errors.set(level, new Map(TIER_OPERATIONS.map((op) => [op, 0])))
  }

  /** The series of a storage namespace: a memo lookup, else the labels worked out once. */
  seriesOf(storageNamespace: string): NamespaceSeries {
    return this.single ?? this.memo.get(storageNamespace) ?? this.resolve(storageNamespace)
  }

  /** The L1 read countdown ran out: starts it again; true when this read is to be timed. */
  l1TimedNow(): boolean {
    this.untilL1Timed = countdown(this.sampleEvery)
    return this.sampleEvery !== 0
  }

  /** Observes a read of the tier at `level` that took `seconds`. */
  observeRead(level: Level, seconds: number): void {
    ;(this.tierReads[LEVEL_INDEX[level]] as Histogram).observe(seconds)
  }

  tierError(level: Level, operation: string): void {
    let byOperation = this.errors.get(level)
    if (byOperation === undefined) this.errors.set(level, (byOperation = new Map()))
    byOperation.set(operation, (byOperation.get(operation) ?? 0) + 1)
  }

  circuitChange(level: Level, state: CircuitState): void {
    bump(this.circuitChanges, LEVEL_INDEX[level] * CIRCUIT_STATES.length + CIRCUIT_STATES.indexOf(state))
  }

  /**
   * Counts a removal asked of this cache: in a storage namespace, or in every namespace (`undefined`;
   * an erasure of the scope of `prefix`, whose tenant labels it when tenants are labelled).
   */
  invalidated(kind: InvalidationKind, storageNamespace: string | undefined, prefix = ''): void {
    const series = storageNamespace === undefined ? this.everywhereSeries(prefix) : this.seriesOf(storageNamespace)
    bump(series.invalidations, INVALIDATION_INDEX[kind])
  }

  /** Every namespace series, in the order first seen. */
  all(): NamespaceSeries[] {
    return this.single === undefined ? [...this.bySeries.values()] : [this.single]
  }

  /** The series of removals that reached every namespace, by tenant label. */
  allNamespaces(): NamespaceSeries[] {
    return [...this.everywhere.values()]
  }

  /** Every counter summed over every namespace, for `stats()`. */
  totals(): NamespaceSeries {
    const total = new NamespaceSeries(EVERY_NAMESPACE, { namespace: EVERY_NAMESPACE }, 0)
    for (const series of this.all()) total.add(series)
    for (const series of this.everywhere.values()) total.add(series)
    return total
  }

  /** Errors of the tier at `level`, all operations. */
  errorsOf(level: Level): number {
    let n = 0
    for (const count of this.errors.get(level)?.values() ?? []) n += count
    return n
  }

  private resolve(storageNamespace: string): NamespaceSeries {
    const options = this.labelling
    if (this.seenStorage.size < MAX_COUNTED_NAMESPACES) this.seenStorage.add(storageNamespace)
    const logical = namespaceOf(storageNamespace)
    let namespace = logical
    if (!this.namespaces.has(logical)) {
      if (this.namespaces.size < options.maxNamespaces || logical in options.costs) this.namespaces.add(logical)
      else namespace = OTHER
    }
    const tenant = options.tenants === false ? undefined : this.tenantLabel(tenantOf(storageNamespace), options.tenants.max)
    const series = this.seriesFor(this.bySeries, namespace, tenant)
    if (this.memo.size >= MEMO_SIZE) this.memo.clear()
    this.memo.set(storageNamespace, series)
    return series
  }

  private tenantLabel(tenant: string | undefined, max: number): string {
    if (tenant === undefined) return ''
    if (this.tenants.has(tenant)) return tenant
    if (this.tenants.size >= max) return OTHER
    this.tenants.add(tenant)
    return tenant
  }

  private everywhereSeries(prefix: string): NamespaceSeries {
    if (this.single !== undefined) return this.single
    const options = this.labelling
    const tenant = options.tenants === false ? undefined : this.tenantLabel(tenantOf(prefix), options.tenants.max)
    return this.seriesFor(this.everywhere, EVERY_NAMESPACE, tenant)
  }

  private seriesFor(map: Map<string, NamespaceSeries>, namespace: string, tenant: string | undefined): NamespaceSeries {
    // '~' occurs in neither label: an unambiguous key.
    const key = tenant === undefined ? namespace : namespace + '~' + tenant
    let series = map.get(key)
    if (series === undefined) {
      series = new NamespaceSeries(namespace, tenant === undefined ? { namespace } : { namespace, tenant }, this.sampleEvery)
      map.set(key, series)
    }
    return series
  }
}

