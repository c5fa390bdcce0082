/**
 * One upstream stream shared by every caller that asks the same thing while it runs: each
 * subscriber gets the bytes from the first, then the rest as they come, so that a later caller
 * follows the stream in progress instead of making a second upstream call.
 */

/** How a flight started: as a stream the callers follow, or with a settled outcome (a cached answer, an error). */
export type FlightStart<T> = { readonly kind: 'stream'; readonly contentType: string } | { readonly kind: 'settled'; readonly outcome: T }

export class StreamFlight<T> {
  readonly #chunks: Uint8Array[] = []
  #ended = false
  #failure: { readonly error: unknown } | undefined
  #wake: (() => void) | undefined
  #wakeup = this.#nextWakeup()
  #start!: (start: FlightStart<T>) => void
  #started = false
  /** Resolves once the upstream answered with a stream, or the flight settled without one. */
  readonly ready: Promise<FlightStart<T>> = new Promise((resolve) => (this.#start = resolve))

  /** The upstream answered with a stream: subscribers may follow it. */
  open(contentType: string): void {
    if (this.#started) return
    this.#started = true
    this.#start({ kind: 'stream', contentType })
  }

  /** The flight ended without a stream to follow (or after it): callers not yet started get `outcome`. */
  settle(outcome: T): void {
    if (!this.#started) this.#start({ kind: 'settled', outcome })
    this.#started = true
  }

  get opened(): boolean {
    return this.#started
  }

  push(chunk: Uint8Array): void {
    if (this.#failure !== undefined || this.#ended) return
    this.#chunks.push(chunk)
    this.#notify()
  }

  /** All bytes so far, as one buffer. */
  bytes(): Buffer {
    return Buffer.concat(this.#chunks)
  }

  end(): void {
    this.#ended = true
    this.#notify()
  }

  /** The stream broke: every subscriber's iteration throws `error`. */
  fail(error: unknown): void {
    if (this.#ended) return
    this.#failure = { error }
    this.#notify()
  }

  /** The stream's bytes from the first, then as they come, until it ends (or throws once it fails). */
  async *subscribe(): AsyncGenerator<Uint8Array> {
    let next = 0
    for (;;) {
      while (next < this.#chunks.length) yield this.#chunks[next++] as Uint8Array
      if (this.#failure !== undefined) throw this.#failure.error
      if (this.#ended) return
      await this.#wakeup
    }
  }

  #nextWakeup(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve))
  }

  #notify(): void {
    const wake = this.#wake
    this.#wakeup = this.#nextWakeup()
    wake?.()
  }
}
