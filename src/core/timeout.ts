/**
 * Settles as `promise` does, or rejects with `onTimeout()` once `ms` milliseconds pass first. The
 * work behind `promise` is not cancelled: callers bound a call they cannot cancel, and must be fine
 * with it landing late. A late rejection of `promise` is ignored (it has a handler), never
 * reported as unhandled.
 * @param ms - the bound, in ms (a timer of Node's: at most 2^31 - 1)
 * @param onTimeout - the error to reject with; called only on a timeout
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
