/**
 * The bus: how one instance tells the others what changed, so that their L1 tiers drop what is no
 * longer true. Messages carry addresses, never values: a receiver removes entries from its L1 and
 * reads the new value from the shared tiers when asked.
 */

/** What changed. `namespace` undefined means every namespace. */
export type BusMessage =
  /** Entries were written (set or factory result): drop the receivers' copies. */
  | { readonly type: 'set'; readonly namespace: string; readonly keys: readonly string[] }
  | { readonly type: 'delete'; readonly namespace: string; readonly keys: readonly string[] }
  | { readonly type: 'invalidate-tags'; readonly namespace?: string; readonly tags: readonly string[] }
  | { readonly type: 'clear'; readonly namespace?: string }
  /** Every entry of every namespace starting with `prefix` was erased (a tenant's or a user's scope). */
  | { readonly type: 'erase'; readonly prefix: string }

/** Wire format version; a receiver drops envelopes of another version and reports itself deaf. */
export const BUS_WIRE_VERSION = 1

/** A message as it travels: versioned, with its sender, the sender's sequence number and time. */
export interface BusEnvelope {
  readonly v: typeof BUS_WIRE_VERSION
  /** Random id of the sending instance, fixed for its life. */
  readonly sender: string
  /** 1, 2, 3... per sender: a gap tells a receiver it missed messages. */
  readonly seq: number
  /** When it was sent, epoch ms. */
  readonly at: number
  readonly message: BusMessage
}

/** Why a receiver can no longer trust that it heard everything. */
export type DeafReason = 'disconnected' | 'gap' | 'bad-message' | 'unsubscribed'

/** What the engine does with the bus's news. */
export interface BusHandlers {
  /** A message from another instance (never one of this instance's own). */
  message(message: BusMessage, envelope: BusEnvelope): void
  /**
   * Messages may have been missed: the engine must distrust its L1 (clear it) before serving from it
   * again. Called when the subscription drops, when a sender's sequence jumps, or for an envelope it
   * cannot read.
   */
  deaf(reason: DeafReason): void
  /** Subscribed (again) and listening: L1 may be used from now on. */
  listening(): void
}

/**
 * Carries {@link BusMessage}s between instances. Delivery is at most once and in order per sender;
 * what cannot be guaranteed is reported through {@link BusHandlers.deaf}.
 */
export interface Bus {
  /** This instance's id, the `sender` of what it publishes. */
  readonly id: string
  /** True while subscribed and not known to have missed anything. */
  readonly listening: boolean
  /** Sends to every other instance; resolves once handed to the transport. Rejects on failure. */
  publish(message: BusMessage): Promise<void>
  /** Starts receiving; resolves once subscribed (or rejects if it cannot subscribe now, retrying in the background). */
  start(handlers: BusHandlers): Promise<void>
  /** Stops receiving and releases connections. Idempotent. */
  close(): Promise<void>
}
