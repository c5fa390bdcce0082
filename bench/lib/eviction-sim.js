// Hit-ratio simulation of eviction policies on a trace of dense integer keys (see traces.js), unit
// size: every request is for one object, a cache of capacity c holds c objects, and a miss inserts.
// LRU and Belady's OPT are the baselines the table must reproduce; tiercache's policy is replayed
// through its public API, as the L1 will drive it.

/**
 * LRU on typed arrays: a doubly linked list threaded through `prev`/`next`, indexed by key.
 * @param {Int32Array} keys
 * @param {number} distinct
 * @param {number} capacity
 * @returns {number} hits
 */
export function simulateLru(keys, distinct, capacity) {
  const NIL = -1
  const prev = new Int32Array(distinct).fill(NIL)
  const next = new Int32Array(distinct).fill(NIL)
  const resident = new Uint8Array(distinct)
  let head = NIL // most recent
  let tail = NIL // least recent
  let size = 0
  let hits = 0
  const unlink = (k) => {
    const p = prev[k]
    const n = next[k]
    if (p === NIL) head = n
    else next[p] = n
    if (n === NIL) tail = p
    else prev[n] = p
  }
  const pushHead = (k) => {
    prev[k] = NIL
    next[k] = head
    if (head !== NIL) prev[head] = k
    else tail = k
    head = k
  }
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    if (resident[k] === 1) {
      hits++
      if (head !== k) {
        unlink(k)
        pushHead(k)
      }
      continue
    }
    if (size === capacity) {
      const victim = tail
      unlink(victim)
      resident[victim] = 0
      size--
    }
    pushHead(k)
    resident[k] = 1
    size++
  }
  return hits
}

/**
 * Belady's OPT (MIN): on a miss with the cache full, evict the resident object used again farthest
 * in the future, or bypass the newcomer if it is itself that one. Next-use times are computed in one
 * backward pass; a max-heap of (next use) positions with lazy deletion finds the farthest.
 * (Belady, "A study of replacement algorithms for a virtual-storage computer", IBM Systems Journal 1966.)
 * @param {Int32Array} keys
 * @param {number} distinct
 * @param {number} capacity
 * @param {{ bypass?: boolean }} [options] - bypass: a newcomer used farther away than every resident
 *   object is not inserted (default true; the optimum for a cache that may decline to store)
 * @returns {number} hits
 */
export function simulateOpt(keys, distinct, capacity, { bypass = true } = {}) {
  const n = keys.length
  const nextUse = new Int32Array(n)
  const last = new Int32Array(distinct).fill(-1)
  // Never used again: n + i, distinct from every real position and ordered among themselves.
  for (let i = n - 1; i >= 0; i--) {
    const k = keys[i]
    nextUse[i] = last[k] === -1 ? n + i : last[k]
    last[k] = i
  }
  const current = new Int32Array(distinct).fill(-1) // the next use of a resident key, -1 if not resident
  const heap = new Int32Array(n + 1) // next-use positions; the key of position p is keys[p mod n]
  let heapSize = 0
  const keyOf = (p) => keys[p >= n ? p - n : p]
  const push = (p) => {
    let i = heapSize++
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent] >= p) break
      heap[i] = heap[parent]
      i = parent
    }
    heap[i] = p
  }
  const pop = () => {
    const top = heap[0]
    const x = heap[--heapSize]
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= heapSize) break
      if (child + 1 < heapSize && heap[child + 1] > heap[child]) child++
      if (heap[child] <= x) break
      heap[i] = heap[child]
      i = child
    }
    heap[i] = x
    return top
  }
  // The farthest valid entry: stale ones (the key was used since, or evicted) are dropped on the way.
  const peekValid = () => {
    while (heapSize > 0) {
      const p = heap[0]
      if (current[keyOf(p)] === p) return p
      pop()
    }
    return -1
  }
  let size = 0
  let hits = 0
  for (let i = 0; i < n; i++) {
    const k = keys[i]
    const use = nextUse[i]
    if (current[k] !== -1) {
      hits++
      current[k] = use
      push(use)
      continue
    }
    if (size === capacity) {
      const farthest = peekValid()
      if (bypass && farthest < use) continue
      pop()
      current[keyOf(farthest)] = -1
      size--
    }
    current[k] = use
    push(use)
    size++
  }
  return hits
}

/**
 * Replays the trace through a policy object with tiercache's eviction API: `access(key)` says
 * whether the key is held (and counts the request), `record(key, weight)` inserts it after a miss.
 * @param {Int32Array} keys
 * @param {{ access(key: number): boolean, record(key: number, weight: number): unknown }} policy
 * @returns {number} hits
 */
export function simulatePolicy(keys, policy) {
  let hits = 0
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    if (policy.access(k)) hits++
    else policy.record(k, 1)
  }
  return hits
}
