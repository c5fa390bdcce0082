/**
 * Encryption at rest of non-public entries in the shared tiers (L2, L3). L1 holds plain values: it
 * never leaves the process.
 *
 * A sealed payload is the byte 0xC1 followed by an AES-256-GCM envelope (security/crypto/envelope.ts)
 * under the tenant's data key, with the entry's storage address as additional data, so that a payload
 * copied to another tenant, namespace or key fails authentication. 0xC1 is the one byte msgpack never
 * uses (MessagePack spec, "never used" format), so a plain payload never starts with it and tiers can
 * tell the two apart without knowing about encryption: they hand sealed entries up with the
 * {@link SEALED} placeholder as value, and the stack unseals them here.
 */
import { CorruptEntryError, InvalidOptionsError, UnknownKeyError } from '../errors.js'
import { decryptPayload, encryptPayload, envelopeKeyId, reencryptPayload } from '../security/crypto/envelope.js'
import type { KeyRing } from '../security/crypto/key-ring.js'
import { SEALED, SEALED_MARK, decodeValue, encodeValue, isSealed } from '../core/codec.js'
import type { Entry } from '../core/entry.js'
import { tenantOf } from './scope.js'

/** The additional data binding an envelope to its storage address (keys never contain NUL). */
function addressOf(namespace: string, key: string): string {
  return `${namespace}\0${key}`
}

/**
 * Seals and unseals entries with a key ring. With `false`, encryption is off and non-public entries
 * are stored in plain text; with none, they cannot go to shared tiers (see {@link Sealer.seal}).
 */
export class Sealer {
  constructor(readonly ring: KeyRing | false | undefined) {}

  /** True when non-public entries can be written to shared tiers (sealed, or deliberately plain). */
  get canStoreScoped(): boolean {
    return this.ring !== undefined
  }

  /**
   * The entry as shared tiers store it: with its payload sealed when it belongs to a tenant or a
   * user; a public entry as is.
   * @throws InvalidOptionsError when the entry is not public and there is no key ring (the cache
   *   refuses to create scoped views then, so this is a bug guard)
   */
  seal(entry: Entry): Entry {
    const tenant = tenantOf(entry.namespace)
    if (tenant === undefined || this.ring === false) return entry
    if (this.ring === undefined) throw new InvalidOptionsError('non-public entries need a key ring to be stored in shared tiers')
    const plaintext = entry.payload ?? encodeValue(entry.value)
    const envelope = encryptPayload(this.ring, tenant, plaintext, addressOf(entry.namespace, entry.key))
    return { ...entry, payload: withMark(envelope) }
  }

  /**
   * The payload of `entry` (as read from a shared tier) sealed again with the ring's current key,
   * or undefined when it is not sealed or already under the current key.
   * @throws UnknownKeyError, CorruptEntryError as {@link unseal}
   */
  reseal(entry: Entry): Uint8Array | undefined {
    const payload = entry.payload
    if (payload === undefined || !isSealed(payload)) return undefined
    const tenant = tenantOf(entry.namespace)
    if (tenant === undefined) throw new CorruptEntryError('sealed entry outside a tenant scope')
    if (this.ring === undefined || this.ring === false) throw new UnknownKeyError('sealed entry, and this cache has no key ring')
    const envelope = payload.subarray(1)
    const keyId = envelopeKeyId(envelope)
    if (keyId === this.ring.currentId) return undefined
    if (!this.ring.has(keyId)) throw new UnknownKeyError(`sealed entry names key "${keyId}", which this process's key ring does not hold`)
    return withMark(reencryptPayload(this.ring, tenant, envelope, addressOf(entry.namespace, entry.key)))
  }

  /**
   * An entry read from a shared tier with its value: a sealed one decrypted and decoded (its payload
   * stays sealed, ready for a backfill); any other as is.
   * @throws UnknownKeyError when there is no key ring, or the envelope names a key the ring does not
   *   hold (a newer key this process has not loaded: the entry is readable elsewhere, not corrupt)
   * @throws CorruptEntryError when it fails authentication or decoding, or is sealed in a public
   *   namespace
   */
  unseal(entry: Entry): Entry {
    if (entry.value !== SEALED) return entry
    const payload = entry.payload
    const tenant = tenantOf(entry.namespace)
    if (payload === undefined || tenant === undefined) throw new CorruptEntryError('sealed entry outside a tenant scope')
    const envelope = payload.subarray(1)
    if (this.ring === undefined || this.ring === false) throw new UnknownKeyError('sealed entry, and this cache has no key ring')
    const keyId = envelopeKeyId(envelope)
    if (!this.ring.has(keyId)) throw new UnknownKeyError(`sealed entry names key "${keyId}", which this process's key ring does not hold`)
    const plaintext = decryptPayload(this.ring, tenant, envelope, addressOf(entry.namespace, entry.key))
    return { ...entry, value: decodeValue(plaintext) }
  }
}

function withMark(envelope: Uint8Array): Uint8Array {
  const payload = Buffer.allocUnsafe(envelope.byteLength + 1)
  payload[0] = SEALED_MARK
  payload.set(envelope, 1)
  return payload
}
