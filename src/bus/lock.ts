/**
 * A lock shared by every process of a deployment, for single flight across processes: the process
 * holding the lock on a key runs the factory; the others wait until it releases the lock (the value
 * has landed) and read the value from the shared tiers.
 */
export interface DistributedLock {
  /**
   * Takes the lock on `name` for `ttlMs` unless another holder has it. Resolves the token that proves
   * ownership, or undefined when the lock is held. Rejects when the backend fails.
   */
  acquire(name: string, ttlMs: number): Promise<string | undefined>
  /** Extends a held lock to `ttlMs` from now; resolves false when the token no longer holds it. */
  extend(name: string, token: string, ttlMs: number): Promise<boolean>
  /** Releases the lock if `token` still holds it, and wakes the processes waiting on it. */
  release(name: string, token: string): Promise<void>
  /**
   * Resolves when the lock on `name` is released (by anyone), or after `timeoutMs`, whichever is
   * first; never rejects. A holder that crashed never releases: its lock expires after its ttl, so a
   * waiter that waits the lock's ttl is delayed by that at most.
   */
  waitForRelease(name: string, timeoutMs: number): Promise<void>
  /** Releases connections and wakes every waiter. Idempotent. */
  close(): Promise<void>
}
