/**
 * Something opened on first use: the deferred tiers, bus and lock, whose backends load optional
 * modules and connect in the background so that `createCache` stays synchronous.
 *
 * The one retry rule: the first {@link Lazy.get} opens, and calls while it runs share that opening;
 * an opening that fails is forgotten, so the next call opens again (for a tier, the stack's circuit
 * breaker spaces those calls out). After {@link Lazy.close}, nothing opens any more.
 */
export interface Lazy<T> {
  /**
   * The opened value, opening it if need be.
   * @throws the opening's error; the error of `closedError` after {@link close}
   */
  get(): Promise<T>
  /** The value once an opening has succeeded, else undefined. */
  readonly value: T | undefined
  /**
   * Stops further openings, and resolves what was opened (after an opening in flight settles), or
   * undefined when nothing was, or the opening failed. Never rejects. Idempotent.
   */
  close(): Promise<T | undefined>
}

/**
 * Wraps `open` in the rule of {@link Lazy}.
 * @param closedError - the error that {@link Lazy.get} rejects with after {@link Lazy.close}
 */
export function lazy<T>(open: () => Promise<T>, closedError: () => Error): Lazy<T> {
  let opening: Promise<T> | undefined
  let value: T | undefined
  let closed = false
  return {
    get() {
      if (closed) return Promise.reject(closedError())
      // A synchronous throw of `open` counts as a failed opening too.
      opening ??= new Promise<T>((resolve) => resolve(open())).then(
        (opened) => (value = opened),
        (error: unknown) => {
          opening = undefined
          throw error
        },
      )
      return opening
    },
    get value() {
      return value
    },
    async close() {
      closed = true
      return opening?.catch(() => undefined)
    },
  }
}
