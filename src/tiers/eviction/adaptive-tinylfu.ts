import { Admission, type AdmissionOptions } from './admission.js'
import { FrequencySketch, type FrequencySketchOptions } from './frequency-sketch.js'
import { defaultHash, type KeyHasher } from './hash.js'
import { HillClimber, type HillClimberOptions } from './hill-climber.js'
import { SlotLists } from './slot-lists.js'
import { WindowTuner, type WindowTunerOptions } from './window-tuner.js'

/** Which bound made an entry leave: the entry count, or the total weight. */
export type EvictionCause = 'count' | 'size'

/** Options of {@link AdaptiveTinyLfu}. */
export interface AdaptiveTinyLfuOptions<K> {
  /** Most entries held. */
  readonly maxEntries: number
  /**
   * Most total weight held (bytes, or any unit the caller gives `record`). When set, the regions
   * are sized in weight; otherwise every entry weighs 1 for the regions. @default unbounded
   */
  readonly maxWeight?: number
  /** Called for each entry the policy drops, synchronously, inside `record` (or `resize`). */
  readonly onEvict?: (key: K, cause: EvictionCause) => void
  /** The key's 32-bit hash. @default {@link defaultHash} (integers, strings, else `String(key)`) */
  readonly hash?: KeyHasher<K>
  /** Share of the capacity the window starts with. @default 0.01 (Caffeine) */
  readonly initialWindow?: number
  /** Share of the main region kept protected. @default 0.8 (W-TinyLFU's SLRU, Caffeine) */
  readonly protectedShare?: number
  /**
   * The sketch, sized by `maxEntries`. Defaults as {@link FrequencySketchOptions}, except the sample:
   * 20 × maxEntries, not TinyLFU's 10 ×; measured on the shared traces, the longer memory gained
   * 0.5-0.6 points on OLTP and ~2 on the loop, and lost 0.1 on scarab.
   */
  readonly sketch?: Omit<FrequencySketchOptions, 'capacity'>
  /**
   * How the window adapts: `'shadows'` picks the best of several fixed windows by miniature
   * simulation ({@link WindowTuner}), `'climber'` is Caffeine's hill climber ({@link HillClimber}),
   * `false` keeps the window fixed. @default 'shadows'
   */
  readonly adaptation?: 'shadows' | 'climber' | false
  readonly climber?: Omit<HillClimberOptions, 'capacity'>
  readonly tuner?: Omit<WindowTunerOptions, 'capacity' | 'create'>
  readonly admission?: AdmissionOptions
}

const WINDOW = 0
const PROBATION = 1
const PROTECTED = 2

/**
 * An adaptive W-TinyLFU eviction policy: a small LRU window that every new entry enters, a
 * segmented LRU main region (probation and protected) that an entry leaving the window joins only
 * if a TinyLFU frequency sketch says it is more popular than what it would replace, and an
 * adaptation that moves capacity between the window (recency) and the main region (frequency) as
 * the workload demands: by default shadow caches ({@link WindowTuner}), else Caffeine's hill climber. After Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache Admission
 * Policy" (ACM TOS 2017), and Caffeine's implementation (github.com/ben-manes/caffeine, wiki
 * "Design" and "Efficiency").
 *
 * It orders keys only; the caller keeps the values (the L1 in its own Map) and drops what `onEvict`
 * names. Every operation is O(1): lists are threaded through typed arrays (see {@link SlotLists}),
 * and nothing scans, except the sketch's aging, amortized over 10 × capacity requests.
 *
 * Usage per request: `access(key)`; on a miss, fetch the value, then `record(key, weight)`.
 */
export class AdaptiveTinyLfu<K> {
  readonly maxEntries: number
  readonly maxWeight: number
  private readonly weighted: boolean
  private readonly capacity: number
  private readonly index = new Map<K, number>()
  private readonly lists: SlotLists
  private keys: (K | undefined)[] = []
  private hashes: Int32Array
  private weights: Float64Array
  private readonly sketch: FrequencySketch
  private readonly admission: Admission
  private readonly climber: HillClimber | undefined
  private readonly tuner: WindowTuner | undefined
  private readonly hashOf: KeyHasher<K>
  private readonly onEvict: ((key: K, cause: EvictionCause) => void) | undefined
  private readonly cost = [0, 0, 0]
  // Entries per region: with weights, a region is bounded by its share of both the weight and the
  // count, or small entries under a count bound would fill a window sized in bytes (plain LRU then).
  private readonly entries = [0, 0, 0]
  private windowMax: number
  private readonly protectedShare: number
  private protectedMax: number
  private totalWeight = 0
  private missedKey: K | undefined
  private missedHash = 0
  private missed = false

  constructor(options: AdaptiveTinyLfuOptions<K>) {
    if (!(options.maxEntries >= 1)) throw new RangeError('maxEntries must be at least 1')
    this.maxEntries = Math.floor(options.maxEntries)
    this.maxWeight = options.maxWeight ?? Infinity
    if (!(this.maxWeight > 0)) throw new RangeError('maxWeight must be positive')
    this.weighted = Number.isFinite(this.maxWeight)
    this.capacity = this.weighted ? this.maxWeight : this.maxEntries
    this.lists = new SlotLists(3, Math.min(this.maxEntries, 1024))
    this.hashes = new Int32Array(this.lists.capacity)
    this.weights = new Float64Array(this.lists.capacity)
    this.sketch = new FrequencySketch({ capacity: this.maxEntries, sampleSize: 20 * this.maxEntries, ...options.sketch })
    this.admission = new Admission(this.sketch, options.admission)
    const adaptation = options.adaptation ?? 'shadows'
    this.climber = adaptation === 'climber' ? new HillClimber({ capacity: this.capacity, ...options.climber }) : undefined
    this.hashOf = options.hash ?? defaultHash
    this.onEvict = options.onEvict
    const initialWindow = options.initialWindow ?? 0.01
    this.windowMax = Math.max(1, Math.round(this.capacity * initialWindow))
    this.protectedShare = options.protectedShare ?? 0.8
    this.protectedMax = this.protectedShare * (this.capacity - this.windowMax)
    // Shadows are unit-size, fixed-window copies of this policy on sampled key hashes (already mixed).
    const create = (capacity: number, share: number): AdaptiveTinyLfu<number> =>
      new AdaptiveTinyLfu<number>({ ...options, onEvict: undefined, maxEntries: capacity, maxWeight: undefined, initialWindow: share, adaptation: false, hash: (h) => h })
    this.tuner = adaptation === 'shadows' ? new WindowTuner({ capacity: this.maxEntries, ...options.tuner, create }, initialWindow) : undefined
  }

  /** Entries held. */
  get size(): number {
    return this.index.size
  }

  /** Total weight held. */
  get weight(): number {
    return this.totalWeight
  }

  /** The window's current capacity, in cost units (entries, or weight when `maxWeight` is set). */
  get windowCapacity(): number {
    return this.windowMax
  }

  /** Whether `key` is held. Counts nothing and changes no order. */
  has(key: K): boolean {
    return this.index.has(key)
  }

  /**
   * One request for `key`: counts it in the sketch and, if held, refreshes its position. Returns
   * whether it is held (a hit). A `record` of the same key right after a miss is not counted again.
   */
  access(key: K): boolean {
    const slot = this.index.get(key)
    if (slot === undefined) {
      const hash = this.hashOf(key)
      this.sketch.increment(hash)
      this.missedKey = key
      this.missedHash = hash
      this.missed = true
      this.adapt(hash, false)
      return false
    }
    const hash = this.hashes[slot] ?? 0
    this.sketch.increment(hash)
    this.touch(slot)
    this.adapt(hash, true)
    return true
  }

  /**
   * Stores `key` with `weight` (an update if held: its weight changes and it counts as a use), then
   * evicts until both bounds hold, reporting each victim to `onEvict`; the new key itself may be the
   * one dropped (not admitted). Returns whether `key` is held afterwards.
   */
  record(key: K, weight = 1): boolean {
    if (!(weight >= 0)) throw new RangeError('weight must be a non-negative number')
    const held = this.index.get(key)
    if (held !== undefined) {
      const delta = weight - (this.weights[held] ?? 0)
      this.weights[held] = weight
      this.totalWeight += delta
      if (this.weighted) this.addCost(this.lists.list[held] ?? WINDOW, delta)
      this.touch(held)
    } else {
      const hash = this.missed && this.missedKey === key ? this.missedHash : this.hashOf(key)
      if (!(this.missed && this.missedKey === key)) this.sketch.increment(hash)
      const slot = this.lists.allocate()
      if (this.hashes.length < this.lists.capacity) this.growArrays()
      this.keys[slot] = key
      this.hashes[slot] = hash
      this.weights[slot] = weight
      this.index.set(key, slot)
      this.lists.append(WINDOW, slot)
      this.cost[WINDOW] = (this.cost[WINDOW] ?? 0) + this.costOf(slot)
      this.entries[WINDOW] = (this.entries[WINDOW] ?? 0) + 1
      this.totalWeight += weight
    }
    this.missed = false
    this.missedKey = undefined
    this.evict()
    return this.index.has(key)
  }

  /** Forgets `key` (no `onEvict`: the caller removed it). Returns whether it was held. */
  delete(key: K): boolean {
    const slot = this.index.get(key)
    if (slot === undefined) return false
    this.drop(slot)
    return true
  }

  /** Forgets every key (no `onEvict`); the sketch keeps its history. */
  clear(): void {
    this.index.clear()
    this.lists.clear()
    this.keys = []
    this.cost.fill(0)
    this.entries.fill(0)
    this.totalWeight = 0
  }

  /** Keys from the first to be evicted to the last (roughly: admission may reorder). O(n). */
  *keysInEvictionOrder(): IterableIterator<K> {
    for (const l of [PROBATION, WINDOW, PROTECTED]) {
      for (let s = this.lists.first(l); s !== l; s = this.lists.next[s] ?? l) {
        const key = this.keys[s]
        if (key !== undefined) yield key
      }
    }
  }

  /** The estimated frequency of `key` in the current sample (0-15): for tests and diagnostics. */
  frequency(key: K): number {
    const slot = this.index.get(key)
    return this.sketch.frequency(slot === undefined ? this.hashOf(key) : (this.hashes[slot] ?? 0))
  }

  private addCost(list: number, delta: number): void {
    this.cost[list] = (this.cost[list] ?? 0) + delta
  }

  private costOf(slot: number): number {
    return this.weighted ? (this.weights[slot] ?? 0) : 1
  }

  /** The window's entries past its share of the count (weighted only; else its cost is its count). */
  private windowEntries(): number {
    return Math.max(1, Math.round((this.maxEntries * this.windowMax) / this.capacity))
  }

  private windowOver(): boolean {
    return (this.cost[WINDOW] ?? 0) > this.windowMax || (this.weighted && (this.entries[WINDOW] ?? 0) > this.windowEntries())
  }

  private protectedOver(): boolean {
    return (this.cost[PROTECTED] ?? 0) > this.protectedMax || (this.weighted && (this.entries[PROTECTED] ?? 0) > this.protectedShare * (this.maxEntries - this.windowEntries()))
  }

  private over(): boolean {
    return this.index.size > this.maxEntries || this.totalWeight > this.maxWeight
  }

  /** A hit's reordering: LRU within the window and protected; probation promotes to protected. */
  private touch(slot: number): void {
    const l = this.lists.list[slot]
    if (l === PROBATION) {
      const c = this.costOf(slot)
      this.lists.moveToTail(PROTECTED, slot)
      this.cost[PROBATION] = (this.cost[PROBATION] ?? 0) - c
      this.cost[PROTECTED] = (this.cost[PROTECTED] ?? 0) + c
      this.entries[PROBATION] = (this.entries[PROBATION] ?? 0) - 1
      this.entries[PROTECTED] = (this.entries[PROTECTED] ?? 0) + 1
      this.demoteProtected()
    } else if (l === WINDOW || l === PROTECTED) {
      this.lists.moveToTail(l, slot)
    }
  }

  private demoteProtected(): void {
    while (this.protectedOver()) {
      const s = this.lists.first(PROTECTED)
      if (s === PROTECTED) break
      this.shift(s, PROTECTED, PROBATION)
    }
  }

  /** Moves `slot` from list `from` to the most recent end of `to`, with the regions' costs. */
  private shift(slot: number, from: number, to: number): void {
    const c = this.costOf(slot)
    this.lists.moveToTail(to, slot)
    this.cost[from] = (this.cost[from] ?? 0) - c
    this.cost[to] = (this.cost[to] ?? 0) + c
    this.entries[from] = (this.entries[from] ?? 0) - 1
    this.entries[to] = (this.entries[to] ?? 0) + 1
  }

  /**
   * Moves the window's overflow to probation as candidates, then, while a bound is exceeded, pits
   * the newest candidate against probation's least recent entry (Caffeine's evictFromMain).
   */
  private evict(): void {
    let candidates = 0
    while (this.windowOver()) {
      const s = this.lists.first(WINDOW)
      if (s === WINDOW) break
      this.shift(s, WINDOW, PROBATION)
      candidates++
    }
    const lists = this.lists
    let candidate = candidates > 0 ? lists.last(PROBATION) : PROBATION
    let victim = lists.first(PROBATION)
    while (this.over()) {
      if (candidates === 0 || candidate === PROBATION) {
        // No candidate left: plain LRU order, probation first, then protected, then the window.
        let s = lists.first(PROBATION)
        if (s === PROBATION) s = lists.first(PROTECTED)
        if (s === PROTECTED) s = lists.first(WINDOW)
        if (s === WINDOW) return
        this.evictSlot(s)
        continue
      }
      const before = lists.prev[candidate] ?? PROBATION
      candidates--
      if (victim === candidate || victim === PROBATION || (this.weights[candidate] ?? 0) > this.maxWeight) {
        this.evictSlot(candidate)
        if (victim === candidate) victim = lists.first(PROBATION)
      } else if (this.admission.admit(this.hashes[candidate] ?? 0, this.hashes[victim] ?? 0)) {
        const after = lists.next[victim] ?? PROBATION
        this.evictSlot(victim)
        victim = after
      } else {
        this.evictSlot(candidate)
      }
      candidate = before
    }
  }

  private evictSlot(slot: number): void {
    const key = this.keys[slot]
    const cause: EvictionCause = this.index.size > this.maxEntries ? 'count' : 'size'
    this.drop(slot)
    if (key !== undefined) this.onEvict?.(key, cause)
  }

  private drop(slot: number): void {
    const key = this.keys[slot]
    const list = this.lists.list[slot] ?? WINDOW
    this.addCost(list, -this.costOf(slot))
    this.entries[list] = (this.entries[list] ?? 0) - 1
    this.totalWeight -= this.weights[slot] ?? 0
    this.lists.remove(slot)
    this.lists.release(slot)
    this.keys[slot] = undefined
    if (key !== undefined) this.index.delete(key)
  }

  private adapt(hash: number, hit: boolean): void {
    let amount = 0
    if (this.tuner !== undefined) {
      if (!this.tuner.record(hash)) return
      amount = Math.max(1, Math.round(this.tuner.share * this.capacity)) - this.windowMax
    } else if (this.climber !== undefined) {
      amount = Math.trunc(this.climber.record(hit))
    }
    if (amount > 0) this.growWindow(amount)
    else if (amount < 0) this.shrinkWindow(-amount)
  }

  /** Caffeine's increaseWindow: capacity moves from protected to the window, entries follow from main's LRU end. */
  private growWindow(amount: number): void {
    const quota = Math.min(amount, this.capacity - 1 - this.windowMax)
    if (quota <= 0) return
    this.windowMax += quota
    this.protectedMax = this.protectedShare * (this.capacity - this.windowMax)
    this.demoteProtected()
    let moved = 0
    while (moved < quota) {
      let s = this.lists.first(PROBATION)
      if (s === PROBATION) s = this.lists.first(PROTECTED)
      if (s === PROTECTED) break
      const from = this.lists.list[s] ?? PROBATION
      if (moved + this.costOf(s) > quota) break
      moved += this.costOf(s)
      this.shift(s, from, WINDOW)
    }
  }

  /** Caffeine's decreaseWindow: the window's least recent entries move to probation, capacity to protected. */
  private shrinkWindow(amount: number): void {
    const quota = Math.min(amount, Math.max(0, this.windowMax - 1))
    this.windowMax -= quota
    this.protectedMax = this.protectedShare * (this.capacity - this.windowMax)
    while (this.windowOver()) {
      const s = this.lists.first(WINDOW)
      if (s === WINDOW) break
      this.shift(s, WINDOW, PROBATION)
    }
  }

  private growArrays(): void {
    const hashes = new Int32Array(this.lists.capacity)
    hashes.set(this.hashes)
    this.hashes = hashes
    const weights = new Float64Array(this.lists.capacity)
    weights.set(this.weights)
    this.weights = weights
  }
}
