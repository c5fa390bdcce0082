/**
 * `cache.explain(key)`: where a key is in each tier, how fresh, and the last removals that touched
 * it. An inspection, not a read: every tier is read raw, nothing is backfilled, counted as a
 * request or reported as a hit or miss, L1's order is left as it was, and a corrupt entry is left
 * for the next read to drop. Shared tiers are read through their guarded tier, so a down tier
 * answers `unavailable` (a failure it counts and reports as any call's) rather than throwing.
 */
import { UnknownKeyError } from '../errors.js'
import { isSealed } from '../core/codec.js'
import type { Entry } from '../core/entry.js'
import type { Level } from '../core/level.js'
import type { Departure } from '../tiers/memory.js'
import type { CacheCore } from './cache-core.js'
import type { CircuitState } from './circuit-breaker.js'
import { CORRUPT, FAILED, type GuardedTier } from './guarded-tier.js'
import type { Touch } from './removal-log.js'
import { type ScopeLevel, levelOf } from './scope.js'

/**
 * What one tier holds of the key:
 * - `present`: an entry (see `freshness` and the fields after it);
 * - `absent`: none; for L1, `departed` says why it left when L1 remembers (its last 1,024 departures);
 * - `unavailable`: the shared tier failed, timed out, or its circuit is open;
 * - `unreadable`: sealed under a master key this process's key ring lacks;
 * - `corrupt`: it cannot be decrypted or decoded (left in place: the next read drops it);
 * - `excluded`: entries of the key's scope are kept out of this tier (`security.tiers`);
 * - `suspended`: L1 is emptied and bypassed while the bus is deaf.
 */
export type TierState = 'present' | 'absent' | 'unavailable' | 'unreadable' | 'corrupt' | 'excluded' | 'suspended'

/** One tier in an {@link Explanation}. Times are epoch ms, durations ms, sizes bytes. */
export interface TierExplanation {
  readonly level: Level
  /** `memory`, `redis`, `sqlite`, `postgres`. */
  readonly kind: string
  readonly state: TierState
  /** Shared tiers: the circuit's state when inspected. */
  readonly circuit?: CircuitState
  /** Present: `fresh` before `freshUntil`, `stale` within grace, `expired` past grace (L1 drops it when next asked). */
  readonly freshness?: 'fresh' | 'stale' | 'expired'
  /** Present: ms until it goes stale, 0 once stale. */
  readonly ttlRemainingMs?: number
  /** Present: ms of grace left (all of it while fresh), 0 once expired. */
  readonly graceRemainingMs?: number
  /** Present: ms since the origin produced the value. */
  readonly ageMs?: number
  readonly createdAt?: number
  readonly freshUntil?: number
  readonly staleUntil?: number
  readonly tags?: readonly string[]
  /** Present: bytes of the encoded value; in a shared tier, of the stored payload (sealed, for tenants and users). */
  readonly sizeBytes?: number
  /** Present in a shared tier: the payload is encrypted. */
  readonly sealed?: boolean
  /** L1 absent: why the entry left (`evicted`, `expired`, `invalidated`) and when, when L1 remembers. */
  readonly departed?: { readonly reason: Departure; readonly at: number }
}

/**
 * A removal that touched the key, from the cache's bounded removal log (see removal-log.ts):
 * - `delete`: the key was deleted;
 * - `replaced`: another instance set the key, and L1 here dropped its old copy;
 * - `tags`: a tag invalidation (`tags`), in the key's namespace or in all; `tag`: the key's tag it matched;
 * - `clear`: the key's namespace was cleared, or every namespace (`allNamespaces`);
 * - `erase`: the key's tenant or user (`scope`) was erased;
 * - `evict`: L1 dropped it to stay within `maxEntries` (`reason: 'count'`) or `maxBytes` (`'size'`);
 * - `expire`: L1 dropped it past its grace;
 * - `deaf`: L1 was emptied because the bus may have missed messages (`reason`);
 * - `repair`: a shared tier that had missed too many removals cleared the key's namespace on recovery.
 */
export interface ExplainedRemoval {
  readonly kind: 'delete' | 'replaced' | 'tags' | 'clear' | 'erase' | 'evict' | 'expire' | 'deaf' | 'repair'
  /** When it was applied here, epoch ms. */
  readonly at: number
  /** Asked of another instance, and heard here on the bus. */
  readonly remote: boolean
  /** The tiers here it reached: every tier for one asked here, L1 for one heard or L1's own, the one tier of a repair. */
  readonly tiers: readonly Level[]
  /** False for a tag invalidation in the key's namespace when the key's tags are unknown: it may have touched the key. */
  readonly certain: boolean
  readonly tags?: readonly string[]
  readonly tag?: string
  readonly allNamespaces?: boolean
  readonly scope?: 'tenant' | 'user'
  readonly reason?: string
}

/** What `cache.explain(key)` answers: plain JSON. Times are epoch ms. */
export interface Explanation {
  /** The namespace as the view names it, and the view's scope. */
  readonly namespace: string
  readonly scope: ScopeLevel
  readonly key: string
  /** When the tiers were inspected. */
  readonly at: number
  /** What a read would answer now: a fresh hit (with its tier), a stale entry (served only where allowed), or a miss. */
  readonly answer: 'fresh' | 'stale' | 'miss'
  /** The tier that would answer, fresh or stale. */
  readonly source?: Level
  /** Every tier of the stack, fastest first. */
  readonly tiers: readonly TierExplanation[]
  /** The newest removal certain to have touched the key, as far as the log remembers. */
  readonly lastRemoval?: ExplainedRemoval
  /** Removals that touched the key or may have, newest first, at most {@link MAX_EXPLAINED_REMOVALS}. */
  readonly removals: readonly ExplainedRemoval[]
  readonly bus: 'none' | 'listening' | 'deaf'
}

/** Most removals an explanation lists. */
export const MAX_EXPLAINED_REMOVALS = 10

type Inspected = { readonly state: TierState; readonly entry?: Entry }

/**
 * Explains `key` of storage namespace `stored` (`name` and `scope` as the view names them); see
 * {@link Explanation}. Never rejects for a tier's failure.
 */
export async function explainKey(core: CacheCore, name: string, scope: ScopeLevel, stored: string, key: string): Promise<Explanation> {
  const { stack, removalLog } = core
  const l1 = stack.l1
  const shared = await Promise.all(stack.shared.map((tier) => (stack.holds(tier.level, stored) ? inspectShared(core, tier, stored, key) : { state: 'excluded' as const })))
  const now = Date.now()
  const tiers: TierExplanation[] = []
  const tags = new Set<string>()
  let tagsKnown = false
  const know = (entry: Entry | undefined) => {
    if (entry === undefined) return
    tagsKnown = true
    for (const tag of entry.tags) tags.add(tag)
  }
  if (l1 !== undefined) {
    const entry = stack.holds('l1', stored) && !l1.isSuspended ? l1.inspect(stored, key) : undefined
    const departure = entry === undefined ? l1.departure(stored, key) : undefined
    know(entry)
    if (departure !== undefined) {
      tagsKnown = true
      for (const tag of departure.tags) tags.add(tag)
    }
    const state: TierState = !stack.holds('l1', stored) ? 'excluded' : l1.isSuspended ? 'suspended' : entry === undefined ? 'absent' : 'present'
    tiers.push({
      level: 'l1',
      kind: l1.kind,
      state,
      ...(entry === undefined ? {} : describe(entry, now, undefined)),
      ...(departure === undefined ? {} : { departed: { reason: departure.why, at: departure.at } }),
    })
  }
  stack.shared.forEach((tier, i) => {
    const { state, entry } = shared[i] as Inspected
    know(entry)
    tiers.push({ level: tier.level, kind: tier.tier.kind, state, circuit: tier.breaker.state, ...(entry === undefined ? {} : describe(entry, now, tier)) })
  })
  const levels = tiers.filter((tier) => tier.state !== 'excluded').map((tier) => tier.level)
  const removals = removalLog.touching(stored, key, tagsKnown ? tags : undefined, MAX_EXPLAINED_REMOVALS).map((touch) => explained(touch, levels, l1 !== undefined))
  const lastRemoval = removals.find((removal) => removal.certain)
  return {
    namespace: name,
    scope,
    key,
    at: now,
    ...verdict(tiers),
    tiers,
    ...(lastRemoval === undefined ? {} : { lastRemoval }),
    removals,
    bus: stack.busState,
  }
}

/** One shared tier's entry, unsealed as a read unseals it, or why there is none. */
async function inspectShared(core: CacheCore, tier: GuardedTier, stored: string, key: string): Promise<Inspected> {
  const found = await tier.call('inspect', (t) => t.get(stored, key))
  if (found === FAILED) return { state: 'unavailable' }
  if (found === CORRUPT) return { state: 'corrupt' }
  if (found === undefined) return { state: 'absent' }
  try {
    return { state: 'present', entry: core.stack.sealer.unseal(found) }
  } catch (error) {
    // Tags and times are stored in the clear: still worth showing beside why the value is unreadable.
    return { state: error instanceof UnknownKeyError ? 'unreadable' : 'corrupt', entry: found }
  }
}

function describe(entry: Entry, now: number, tier: GuardedTier | undefined): Partial<TierExplanation> {
  const freshness = now < entry.freshUntil ? 'fresh' : now < entry.staleUntil ? 'stale' : 'expired'
  return {
    freshness,
    ttlRemainingMs: Math.max(0, entry.freshUntil - now),
    graceRemainingMs: Math.max(0, entry.staleUntil - Math.max(now, entry.freshUntil)),
    ageMs: Math.max(0, now - entry.createdAt),
    createdAt: entry.createdAt,
    freshUntil: entry.freshUntil,
    staleUntil: entry.staleUntil,
    tags: [...entry.tags],
    sizeBytes: entry.size,
    ...(tier === undefined ? {} : { sealed: entry.payload !== undefined && isSealed(entry.payload) }),
  }
}

/** What a read would answer: the first fresh tier, else the freshest stale one, as the stack's walk decides. */
function verdict(tiers: readonly TierExplanation[]): Pick<Explanation, 'answer' | 'source'> {
  const readable = tiers.filter((tier) => tier.state === 'present')
  const fresh = readable.find((tier) => tier.freshness === 'fresh')
  if (fresh !== undefined) return { answer: 'fresh', source: fresh.level }
  let stale: TierExplanation | undefined
  for (const tier of readable) if (tier.freshness === 'stale' && (stale === undefined || (tier.freshUntil ?? 0) > (stale.freshUntil ?? 0))) stale = tier
  return stale === undefined ? { answer: 'miss' } : { answer: 'stale', source: stale.level }
}

/** A log record as the caller sees it: no storage namespaces or scope prefixes. */
function explained({ record, tag, certain }: Touch, levels: readonly Level[], hasL1: boolean): ExplainedRemoval {
  const l1: Level[] = hasL1 ? ['l1'] : []
  const asked = (kind: ExplainedRemoval['kind'], remote: boolean) => ({ kind, at: record.at, remote, tiers: remote ? l1 : levels, certain })
  const own = (kind: ExplainedRemoval['kind'], tiers: readonly Level[]) => ({ kind, at: record.at, remote: false, tiers, certain })
  const everywhere = (namespace: string | undefined) => (namespace === undefined ? { allNamespaces: true } : {})
  switch (record.kind) {
    case 'key':
      return asked(record.bySet ? 'replaced' : 'delete', record.remote)
    case 'tags':
      return { ...asked('tags', record.remote), tags: record.tags, ...(tag === undefined ? {} : { tag }), ...everywhere(record.namespace) }
    case 'clear':
      return { ...asked('clear', record.remote), ...everywhere(record.namespace) }
    case 'scope':
      return { ...asked('erase', record.remote), scope: levelOf(record.prefix) === 'user' ? 'user' : 'tenant' }
    case 'evict':
      return record.reason === 'expired' ? own('expire', l1) : { ...own('evict', l1), reason: record.reason }
    case 'deaf':
      return { ...own('deaf', l1), ...(record.reason === undefined ? {} : { reason: record.reason }) }
    case 'repair':
      return { ...own('repair', [record.level]), ...(tag === undefined ? {} : { tag }) }
  }
}
