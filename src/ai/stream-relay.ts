/**
 * Streams in progress shared across processes: the process whose read-through runs the upstream
 * call publishes the stream's bytes as they come, and identical requests waiting in other processes
 * (on the cross-process lock) follow them live, instead of waiting for the stored answer.
 */

/** One event of a relayed stream. */
export type RelayEvent =
  | { readonly kind: 'open'; readonly contentType: string }
  | { readonly kind: 'chunk'; readonly bytes: Uint8Array }
  | { readonly kind: 'end' }
  | { readonly kind: 'fail'; readonly message: string }

/** What the publishing process writes; every call is fire-and-forget (a relay's failure never fails the stream). */
export interface RelayWriter {
  write(event: RelayEvent): void
}

/** Where streams in progress are published and followed (see `redisStreamRelay` in `tiercache/redis`). */
export interface StreamRelay {
  /** Starts publishing the stream of flight `id`. */
  publish(id: string): RelayWriter
  /**
   * The events of flight `id` published by any process, from the first, as they come, until `end`
   * or `fail`, or until `signal` aborts. Yields nothing while no process publishes it.
   */
  follow(id: string, signal: AbortSignal): AsyncIterable<RelayEvent>
}
