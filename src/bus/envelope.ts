/**
 * The bus's wire format: a {@link BusEnvelope} as JSON, checked strictly on the way in.
 *
 * JSON rather than msgpack: messages carry addresses (keys, tags), not values, so they are small, and
 * JSON can be read as is in `redis-cli MONITOR` or `SUBSCRIBE` while debugging.
 */
import { z } from 'zod'
import { BUS_WIRE_VERSION, type BusEnvelope, type BusMessage } from './bus.js'

const text = z.string()

/**
 * The schema of a {@link BusMessage}. Strict: an unknown field means a format this build cannot
 * read, and a receiver that guesses could keep an entry it should have dropped.
 */
export const busMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('set'), namespace: text, keys: z.array(text) }),
  z.strictObject({ type: z.literal('delete'), namespace: text, keys: z.array(text) }),
  z.strictObject({ type: z.literal('invalidate-tags'), namespace: text.optional(), tags: z.array(text) }),
  z.strictObject({ type: z.literal('clear'), namespace: text.optional() }),
  z.strictObject({ type: z.literal('erase'), prefix: text.min(1) }),
])

/** The schema of a {@link BusEnvelope} of the current {@link BUS_WIRE_VERSION}. */
export const busEnvelopeSchema = z.strictObject({
  v: z.literal(BUS_WIRE_VERSION),
  sender: z.string().min(1).max(256),
  seq: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  at: z.number().finite(),
  message: busMessageSchema,
})

/** Serializes an envelope for PUBLISH. */
export function encodeEnvelope(envelope: BusEnvelope): string {
  return JSON.stringify(envelope)
}

/**
 * Parses a payload received from the channel. Returns undefined for anything that is not a valid
 * envelope of this wire version (bad JSON, another version, missing or extra fields): the caller
 * cannot know what such a message invalidated, so it must report itself deaf.
 */
export function decodeEnvelope(payload: string): BusEnvelope | undefined {
  let raw: unknown
  try {
    raw = JSON.parse(payload)
  } catch {
    return undefined
  }
  const parsed = busEnvelopeSchema.safeParse(raw)
  // The schema mirrors the readonly types exactly; the cast only adds `readonly`.
  return parsed.success ? (parsed.data as BusEnvelope) : undefined
}

/** True when `message` is a well-formed {@link BusMessage} (used to check what is published). */
export function isBusMessage(message: unknown): message is BusMessage {
  return busMessageSchema.safeParse(message).success
}
