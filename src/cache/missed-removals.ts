import type { Removal } from './removal.js'

/**
 * What a tier's recovery removes in place of removals it no longer remembers one by one: whole
 * namespaces, but only those in which removals were missed. A shared tier's table is shared by
 * every tenant and every application using it, so nothing outside those namespaces is touched.
 */
export interface WidenedRemoval {
  /** Removals missed (a repeat of one still remembered one by one is not counted again). */
  readonly missed: number
  /** Namespaces cleared whole: those in which a key, tag or namespace removal was missed. */
  readonly namespaces: readonly string[]
  /** Scope prefixes erased whole: missed erasures, kept as they were. */
  readonly prefixes: readonly string[]
  /** Tags removed in every namespace: missed global tag invalidations, kept as they were. */
  readonly tags: readonly string[]
  /**
   * A clear of every namespace was missed, so the tier is cleared whole: the one removal that
   * reaches every namespace, and only because one was asked for.
   */
  readonly all: boolean
}

interface Wide {
  readonly namespaces: Set<string>
  readonly prefixes: Set<string>
  readonly tags: Set<string>
  all: boolean
  missed: number
}

/** Everything pending, as {@link MissedRemovals.take} hands it over. */
export interface PendingRemovals {
  /** The removals to replay, in the order they were missed; removals commute, so any order is right. */
  readonly removals: readonly Removal[]
  /** Set when the memory overflowed: `removals` then stands for this summary. */
  readonly widened: WidenedRemoval | undefined
}

// Tags per replayed global invalidation: one statement each, and not an unbounded parameter list.
const TAGS_PER_REMOVAL = 100

/**
 * The removals one shared tier missed, to replay before it serves again. Up to `maxRemovals` are
 * kept as they were (each once: a key deleted and written a thousand times is removed once); past that, the memory keeps the set of namespaces they fell in (and the scope
 * prefixes and global tags, as they were), and the replay clears those namespaces whole.
 *
 * Past `maxNamespaces` distinct namespaces, prefixes and tags, even that would be guesswork, and
 * the memory turns {@link unrepairable}: the tier must not serve this cache again, rather than be
 * cleared beyond what it missed.
 */
export class MissedRemovals {
  private list: Removal[] = []
  /** Identities of the removals in `list`: a removal missed twice is replayed once. */
  private listed = new Set<string>()
  private wide: Wide | undefined
  private broken = false

  constructor(
    private readonly maxRemovals: number,
    private readonly maxNamespaces: number,
  ) {}

  /** Removals the replay will run (0: nothing to replay). */
  get size(): number {
    const wide = this.wide
    if (wide === undefined) return this.list.length
    if (wide.all) return 1
    return wide.namespaces.size + wide.prefixes.size + Math.ceil(wide.tags.size / TAGS_PER_REMOVAL)
  }

  /** Too many namespaces to remember: no replay can repair the tier without touching others. */
  get unrepairable(): boolean {
    return this.broken
  }

  add(removal: Removal): void {
    if (this.broken) return
    if (this.wide === undefined) {
      const id = identity(removal)
      if (this.listed.has(id)) return
      if (this.list.length < this.maxRemovals) {
        this.listed.add(id)
        this.list.push(removal)
        return
      }
    }
    this.wide ??= this.widen()
    absorb(this.wide, removal)
    this.checkBudget()
  }

  /** Hands everything pending over to a replay, and forgets it. */
  take(): PendingRemovals {
    const { list, wide } = this
    this.list = []
    this.listed = new Set()
    this.wide = undefined
    if (wide === undefined) return { removals: list, widened: undefined }
    const widened: WidenedRemoval = {
      missed: wide.missed,
      namespaces: [...wide.namespaces],
      prefixes: [...wide.prefixes],
      tags: [...wide.tags],
      all: wide.all,
    }
    return { removals: expandWidened(widened), widened }
  }

  /**
   * Takes back what a failed replay could not finish, all of it (a removal replayed twice removes
   * nothing more), together with what was missed meanwhile.
   */
  putBack(pending: PendingRemovals): void {
    const meanwhile = this.take()
    this.restore(pending)
    this.restore(meanwhile)
  }

  private restore(pending: PendingRemovals): void {
    if (pending.widened === undefined) {
      for (const removal of pending.removals) this.add(removal)
      return
    }
    if (this.broken) return
    const wide = (this.wide ??= this.widen())
    const { namespaces, prefixes, tags, all, missed } = pending.widened
    wide.missed += missed
    if (all) setAll(wide)
    if (wide.all) return
    for (const namespace of namespaces) wide.namespaces.add(namespace)
    for (const prefix of prefixes) wide.prefixes.add(prefix)
    for (const tag of tags) wide.tags.add(tag)
    this.checkBudget()
  }

  private checkBudget(): void {
    const wide = this.wide
    if (wide === undefined || wide.all) return
    if (wide.namespaces.size + wide.prefixes.size + wide.tags.size <= this.maxNamespaces) return
    this.broken = true
    this.wide = undefined
  }

  private widen(): Wide {
    const wide: Wide = { namespaces: new Set(), prefixes: new Set(), tags: new Set(), all: false, missed: 0 }
    for (const removal of this.list) absorb(wide, removal)
    this.list = []
    this.listed = new Set()
    return wide
  }
}

/** A removal's identity: equal for removals that remove the same entries. */
function identity(removal: Removal): string {
  switch (removal.kind) {
    case 'key':
      return `k\0${removal.namespace}\0${removal.key}`
    case 'tags':
      return `t\0${removal.namespace ?? ''}\0${removal.namespace === undefined ? 1 : 0}\0${removal.tags.join('\0')}`
    case 'clear':
      return removal.namespace === undefined ? 'all' : `c\0${removal.namespace}`
    case 'scope':
      return `s\0${removal.prefix}`
  }
}

function absorb(wide: Wide, removal: Removal): void {
  wide.missed++
  if (wide.all) return
  switch (removal.kind) {
    case 'key':
      wide.namespaces.add(removal.namespace)
      return
    case 'tags':
      if (removal.namespace !== undefined) wide.namespaces.add(removal.namespace)
      else for (const tag of removal.tags) wide.tags.add(tag)
      return
    case 'clear':
      if (removal.namespace !== undefined) {
        wide.namespaces.add(removal.namespace)
        return
      }
      setAll(wide)
      return
    case 'scope':
      wide.prefixes.add(removal.prefix)
  }
}

function setAll(wide: Wide): void {
  wide.all = true
  wide.namespaces.clear()
  wide.prefixes.clear()
  wide.tags.clear()
}

function expandWidened(widened: WidenedRemoval): Removal[] {
  if (widened.all) return [{ kind: 'clear', namespace: undefined }]
  const removals: Removal[] = widened.namespaces.map((namespace) => ({ kind: 'clear', namespace }))
  for (const prefix of widened.prefixes) removals.push({ kind: 'scope', prefix })
  for (let i = 0; i < widened.tags.length; i += TAGS_PER_REMOVAL) {
    removals.push({ kind: 'tags', namespace: undefined, tags: widened.tags.slice(i, i + TAGS_PER_REMOVAL) })
  }
  return removals
}
