/**
 * Encryption at rest for non-public entries in L2 and L3: master key rings (environment or key file)
 * and AES-256-GCM envelopes with per-scope data keys derived by HKDF-SHA256.
 *
 * @see NIST SP 800-38D (GCM)
 * @see RFC 5869 (HKDF)
 * @module
 */
export {
  KEY_FILE_MODE,
  KEY_ID_PATTERN,
  KEY_RING_ENV,
  KeyRing,
  MASTER_KEY_BYTES,
  generateKeyRingFile,
  keyRingFromEnv,
  loadKeyRingFile,
  loadOrCreateKeyRing,
  parseKeyRing,
  parseKeyRingFile,
  resolveKeyRing,
  rotateKeyRingFile,
  type KeyRingFileResult,
  type KeyRingSummary,
  type MasterKey,
} from './key-ring.js'
export {
  DERIVED_KEY_CACHE_SIZE,
  ENVELOPE_VERSION,
  IV_BYTES,
  TAG_BYTES,
  decryptPayload,
  encryptPayload,
  envelopeKeyId,
  needsReencryption,
  reencryptPayload,
} from './envelope.js'
