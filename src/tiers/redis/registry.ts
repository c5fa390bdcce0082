import type { Cluster, Redis } from 'ioredis'
import { NAMESPACES_SCRIPT, REGISTER_SCRIPT, runScript } from './scripts.js'

/**
 * How the tier runs one command: within its timeout, failures as TierUnavailableError.
 * @param what - the operation, for error messages (never keys or values)
 */
export type RunCommand = <T>(what: string, command: (client: Redis | Cluster) => Promise<T>) => Promise<T>

/**
 * How long past its latest known entry a namespace stays registered, in ms. Covers clock differences
 * between processes (a namespace is dropped by another process's clock) and the time between two
 * refreshes of the in-process memo.
 */
export const REGISTRY_MARGIN_MS = 10 * 60_000
/** Longest a process trusts its memo that a namespace is registered before registering it again, in ms. */
export const REGISTRY_REFRESH_MS = 60_000

interface Registration {
  /** Which registration of this process it was: {@link NamespaceRegistry.sequence} when it started. */
  readonly seq: number
  /** Registered (or being registered) until this time, epoch ms. */
  readonly until: number
  /** When this process registered it, epoch ms. */
  readonly at: number
  /** The registration in flight, until it lands. */
  readonly pending?: Promise<void>
}

// Namespaces are few; the cap only guards against a caller generating them without bound.
const MAX_MEMO = 10_000

/**
 * The namespaces that may hold entries: a ZSET (`<prefix>:namespaces`, a slot of its own) of
 * namespace → the time (epoch ms) after which it surely holds none. The operations on every
 * namespace (`deleteByTags` and `clear` without a namespace, `count()`) iterate it instead of
 * scanning the keyspace; it drops members whose time has passed, and the key itself expires with its
 * latest member.
 *
 * Writing to it on every `set` would send every write in a cluster to the one node holding it. So
 * each process remembers what it registered and registers again only when an entry outlives that,
 * when {@link REGISTRY_REFRESH_MS} has passed (so a lost registry heals within a minute), or when
 * the `set` script reports that it created the namespace's index (a new namespace, or Redis came
 * back empty): see {@link NamespaceRegistry.ensure}.
 */
export class NamespaceRegistry {
  private readonly memo = new Map<string, Registration>()
  private started = 0

  constructor(
    private readonly run: RunCommand,
    private readonly key: string,
  ) {}

  /** Registrations this process has started so far; a later one has a higher number. */
  get sequence(): number {
    return this.started
  }

  /**
   * Resolves once `namespace` is registered until at least `staleUntil` (+ the margin): at once when
   * this process registered it recently enough, else after a registration (shared by concurrent
   * callers).
   * @param unlessAfter - register even if the memo says it is done, unless a registration started
   *   after {@link sequence} was this number: a `set` that created the namespace's index passes the
   *   sequence it saw when it began, since a registration started after that is recent enough
   * @throws TierUnavailableError when the registration fails (the memo is then forgotten)
   */
  ensure(namespace: string, staleUntil: number, unlessAfter?: number): Promise<void> {
    const now = Date.now()
    const known = this.memo.get(namespace)
    const force = unlessAfter !== undefined && (known === undefined || known.seq <= unlessAfter)
    if (!force && known !== undefined && staleUntil <= known.until && now - known.at < REGISTRY_REFRESH_MS) {
      return known.pending ?? Promise.resolve()
    }
    const until = Math.max(staleUntil, now) + REGISTRY_MARGIN_MS
    const seq = ++this.started
    const pending: Promise<void> = this
      .run('register namespace', (client) => runScript(client, REGISTER_SCRIPT, [this.key], [namespace, until, until - now]))
      .then(
        () => {
          if (this.memo.get(namespace)?.pending === pending) this.memo.set(namespace, { seq, until, at: now })
        },
        (error: unknown) => {
          if (this.memo.get(namespace)?.pending === pending) this.memo.delete(namespace)
          throw error
        },
      )
    if (this.memo.size >= MAX_MEMO) this.memo.clear()
    this.memo.set(namespace, { seq, until, at: now, pending })
    return pending
  }

  /**
   * The registered namespaces, after dropping those whose time has passed.
   * @throws TierUnavailableError
   */
  async list(): Promise<string[]> {
    const namespaces = await this.run('list namespaces', (client) => runScript(client, NAMESPACES_SCRIPT, [this.key], [Date.now()]))
    return namespaces as string[]
  }
}
