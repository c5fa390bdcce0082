// Published hit ratios (%) that the eviction suite prints beside its own figures: issue 13's table,
// unit-size objects. ARC: Megiddo & Modha, "ARC: A Self-Tuning, Low Overhead Replacement Cache",
// FAST 2003 (the OLTP trace is theirs); LIRS: Jiang & Zhang, "LIRS: An Efficient Low Inter-reference
// Recency Set Replacement Policy", SIGMETRICS 2002 (glimpse and loop are theirs); Caffeine 3.2.2's
// simulator (adaptive W-TinyLFU); S3-FIFO: Yang et al., "FIFO queues are all you need for cache
// eviction", SOSP 2023. Undefined: not published for that row.
export const REFERENCE_ROWS = [
  { trace: 'oltp', capacity: 1000, arc: 39.06, lirs: 34.8, caffeine: 40.0, s3fifo: 40.84 },
  { trace: 'oltp', capacity: 2000, arc: 46.17, lirs: 42.51, caffeine: 46.08, s3fifo: 47.01 },
  { trace: 'glimpse', capacity: 1000, arc: 21.3, lirs: 50.72, caffeine: 41.6, s3fifo: 35.05 },
  { trace: 'loop', capacity: 500, arc: 0.0, lirs: 48.86, caffeine: 46.79, s3fifo: 0.0 },
  { trace: 'scarab', capacity: 100000, arc: undefined, lirs: undefined, caffeine: undefined, s3fifo: 75.61 },
]
