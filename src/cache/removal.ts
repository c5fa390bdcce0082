import type { BusMessage } from '../bus/bus.js'
import type { MemoryTier } from '../tiers/memory.js'
import type { EngineEvents } from './events.js'
import type { Tier } from '../tiers/tier.js'
import { FAILED, type GuardedTier } from './guarded-tier.js'
import type { InvalidationLog } from './invalidation-log.js'

/**
 * A removal: what `delete`, `invalidateTags`, `clear` and `erase` take out of the tiers, what the bus
 * carries to other instances, and what a shared tier that missed it replays before it serves again.
 * `namespace` undefined: every namespace.
 */
export type Removal =
  | { readonly kind: 'key'; readonly namespace: string; readonly key: string }
  | { readonly kind: 'tags'; readonly namespace: string | undefined; readonly tags: readonly string[] }
  | { readonly kind: 'clear'; readonly namespace: string | undefined }
  /** Every namespace starting with `prefix`: a scope's erasure. */
  | { readonly kind: 'scope'; readonly prefix: string }

/** The tier operation a removal runs, as named in `tier:error` events and circuit accounting. */
export type RemovalOperation = 'delete' | 'deleteByTags' | 'clear' | 'clearPrefix'

/** Applies `removal` to `tier`. Resolves the tier's answer: for a key, true when the tier held it. */
export function applyRemoval(tier: Tier, removal: Removal): Promise<unknown> {
  switch (removal.kind) {
    case 'key':
      return tier.delete(removal.namespace, removal.key)
    case 'tags':
      return tier.deleteByTags(removal.tags, removal.namespace)
    case 'clear':
      return tier.clear(removal.namespace)
    case 'scope':
      return tier.clearPrefix(removal.prefix)
  }
}

const OPERATIONS: Readonly<Record<Removal['kind'], RemovalOperation>> = { key: 'delete', tags: 'deleteByTags', clear: 'clear', scope: 'clearPrefix' }

/** The name of the tier operation {@link applyRemoval} runs for `removal`. */
export function operationOf(removal: Removal): RemovalOperation {
  return OPERATIONS[removal.kind]
}

/** The bus message that tells other instances of `removal`. */
export function messageOf(removal: Removal): BusMessage {
  switch (removal.kind) {
    case 'key':
      return { type: 'delete', namespace: removal.namespace, keys: [removal.key] }
    case 'tags':
      return removal.namespace === undefined ? { type: 'invalidate-tags', tags: removal.tags } : { type: 'invalidate-tags', namespace: removal.namespace, tags: removal.tags }
    case 'clear':
      return removal.namespace === undefined ? { type: 'clear' } : { type: 'clear', namespace: removal.namespace }
    case 'scope':
      return { type: 'erase', prefix: removal.prefix }
  }
}

/**
 * The removals a bus message from another instance asks of this one. A `set` elsewhere is a removal
 * here too: the receiver drops its old copy from L1 and reads the new value when next asked.
 */
export function removalsOf(message: BusMessage): Removal[] {
  switch (message.type) {
    case 'set':
    case 'delete':
      return message.keys.map((key) => ({ kind: 'key', namespace: message.namespace, key }))
    case 'invalidate-tags':
      return [{ kind: 'tags', namespace: message.namespace, tags: message.tags }]
    case 'clear':
      return [{ kind: 'clear', namespace: message.namespace }]
    case 'erase':
      return [{ kind: 'scope', prefix: message.prefix }]
  }
}

/**
 * Applies `removal` to this process: records it in the invalidation log, for the reads and factories
 * in flight, and removes it from L1. Returns true when L1 held the removed key.
 */
export function forget(removal: Removal, l1: MemoryTier | undefined, log: InvalidationLog): boolean {
  switch (removal.kind) {
    case 'key':
      log.key(removal.namespace, removal.key)
      return l1?.remove(removal.namespace, removal.key) ?? false
    case 'tags':
      log.tagged(removal.tags, removal.namespace)
      l1?.removeByTags(removal.tags, removal.namespace)
      return false
    case 'clear':
      log.cleared(removal.namespace)
      l1?.removeAll(removal.namespace)
      return false
    case 'scope':
      log.erased(removal.prefix)
      l1?.removePrefix(removal.prefix)
      return false
  }
}

/**
 * Applies a removal to every shared tier, slowest first, one after the other: while it runs, a read
 * that finds the entry in a faster tier backfills only the tiers above that one, never a tier already
 * cleaned. A tier that misses the removal replays it before serving again. Resolves each tier's answer
 * (or FAILED), slowest first.
 */
export async function removeFromShared(shared: readonly GuardedTier[], removal: Removal): Promise<unknown[]> {
  const operation = operationOf(removal)
  const results: unknown[] = []
  for (let i = shared.length - 1; i >= 0; i--) {
    const tier = shared[i] as GuardedTier
    const result = await tier.call(operation, (t) => applyRemoval(t, removal))
    if (result === FAILED) tier.missed(removal)
    results.push(result)
  }
  return results
}

/**
 * Removals here and everywhere: applied to this process, to the shared tiers, and published for the
 * other instances; and removals heard from them, applied to this process.
 */
export class Removals {
  constructor(
    private readonly l1: MemoryTier | undefined,
    private readonly log: InvalidationLog,
    private readonly shared: readonly GuardedTier[],
    private readonly events: EngineEvents,
    private readonly publish: (message: BusMessage) => Promise<void>,
  ) {}

  /**
   * Forgets `removal` locally, applies it to the shared tiers, forgets it locally again, and only then
   * publishes it, so that another instance that drops its copy on the message and reads again finds
   * the shared tiers already clean. `inL1`: L1 held the removed key; `results`: each shared tier's
   * answer, slowest first.
   */
  async apply(removal: Removal): Promise<{ inL1: boolean; results: unknown[] }> {
    const inL1 = forget(removal, this.l1, this.log)
    const results = await removeFromShared(this.shared, removal)
    // Again, now that the shared tiers are clean: a read that began meanwhile must not write back what
    // it read before the removal reached its tier, and may have refilled L1.
    forget(removal, this.l1, this.log)
    await this.publish(messageOf(removal))
    if (this.events.heard.removal) this.events.emit('removal', { removal, remote: false })
    return { inL1, results }
  }

  /** Applies what another instance removed (or set) to this process: L1 and the reads in flight. */
  applyRemote(message: BusMessage): void {
    for (const removal of removalsOf(message)) {
      forget(removal, this.l1, this.log)
      if (this.events.heard.removal) this.events.emit('removal', message.type === 'set' ? { removal, remote: true, bySet: true } : { removal, remote: true })
    }
  }
}
