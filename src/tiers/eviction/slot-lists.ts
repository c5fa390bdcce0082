/**
 * Doubly linked LRU lists threaded through typed arrays: every entry is a slot (an integer), and
 * `prev`/`next` hold its neighbours, so that moving an entry is a few array writes with no object
 * allocated. Each list is circular around a sentinel slot (list `l` is slot `l`), which spares the
 * null checks at the ends. The head (`first`) is the least recently used end, the tail the most.
 * Free slots are chained through `next`, and the arrays double when they run out.
 */
export class SlotLists {
  prev: Int32Array
  next: Int32Array
  /** The list each slot is on, or FREE. */
  list: Uint8Array
  private free = -1
  private used: number

  static readonly FREE = 255

  /** @param lists - how many lists (sentinels); @param initial - slots to allocate at first */
  constructor(
    readonly lists: number,
    initial = 64,
  ) {
    const size = lists + Math.max(1, initial)
    this.prev = new Int32Array(size)
    this.next = new Int32Array(size)
    this.list = new Uint8Array(size).fill(SlotLists.FREE)
    for (let l = 0; l < lists; l++) {
      this.prev[l] = l
      this.next[l] = l
      this.list[l] = l
    }
    this.used = lists
  }

  /** Slots allocated so far (sentinels included): the length of per-slot arrays kept beside these. */
  get capacity(): number {
    return this.prev.length
  }

  /** A free slot, growing the arrays (callers must then grow theirs to `capacity`). */
  allocate(): number {
    if (this.free !== -1) {
      const slot = this.free
      this.free = this.next[slot] ?? -1
      return slot
    }
    if (this.used === this.prev.length) this.grow()
    return this.used++
  }

  /** Returns `slot` (already unlinked) to the free chain. */
  release(slot: number): void {
    this.list[slot] = SlotLists.FREE
    this.next[slot] = this.free
    this.free = slot
  }

  /** The least recently used slot of list `l`, or `l` itself when the list is empty. */
  first(l: number): number {
    return this.next[l] ?? l
  }

  /** The most recently used slot of list `l`, or `l` itself when the list is empty. */
  last(l: number): number {
    return this.prev[l] ?? l
  }

  /** Links `slot` at the most recent end of list `l`. */
  append(l: number, slot: number): void {
    const tail = this.prev[l] ?? l
    this.prev[slot] = tail
    this.next[slot] = l
    this.next[tail] = slot
    this.prev[l] = slot
    this.list[slot] = l
  }

  /** Unlinks `slot` from its list. */
  remove(slot: number): void {
    const p = this.prev[slot] ?? slot
    const n = this.next[slot] ?? slot
    this.next[p] = n
    this.prev[n] = p
  }

  /** Moves `slot` to the most recent end of list `l` (its own or another). */
  moveToTail(l: number, slot: number): void {
    this.remove(slot)
    this.append(l, slot)
  }

  /** Unlinks every slot; the arrays keep their size. */
  clear(): void {
    this.list.fill(SlotLists.FREE)
    for (let l = 0; l < this.lists; l++) {
      this.prev[l] = l
      this.next[l] = l
      this.list[l] = l
    }
    this.free = -1
    this.used = this.lists
  }

  private grow(): void {
    const size = this.prev.length * 2
    const prev = new Int32Array(size)
    prev.set(this.prev)
    const next = new Int32Array(size)
    next.set(this.next)
    const list = new Uint8Array(size).fill(SlotLists.FREE)
    list.set(this.list)
    this.prev = prev
    this.next = next
    this.list = list
  }
}
