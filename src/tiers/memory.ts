// The in-process tier (L1), split under ./memory/: the tier itself, and the stores of its two
// eviction policies (LRU, adaptive W-TinyLFU). This path stays the one the rest of the code imports.
export { L1_EVICTIONS, MemoryTier, type Departure, type DepartureRecord, type EvictionReason, type L1Eviction, type MemoryTierOptions } from './memory/tier.js'
