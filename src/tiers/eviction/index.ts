// The L1's eviction policy (issue 13), as a standalone structure: see adaptive-tinylfu.ts.
export { AdaptiveTinyLfu, type AdaptiveTinyLfuOptions, type EvictionCause } from './adaptive-tinylfu.js'
export { Admission, type AdmissionOptions } from './admission.js'
export { Doorkeeper } from './doorkeeper.js'
export { FrequencySketch, MAX_COUNT, type FrequencySketchOptions } from './frequency-sketch.js'
export { defaultHash, hashString, mix32, type KeyHasher } from './hash.js'
export { HillClimber, type HillClimberOptions } from './hill-climber.js'
export { SlotLists } from './slot-lists.js'
export { DEFAULT_SHARES, WindowTuner, type ShadowPolicy, type WindowTunerOptions } from './window-tuner.js'
