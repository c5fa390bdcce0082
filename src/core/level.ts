/** A tier's level in the stack: L1 memory, L2 Redis, L3 SQL. */
export type Level = 'l1' | 'l2' | 'l3'

/** The levels below L1, shared by every instance. */
export type SharedLevel = Exclude<Level, 'l1'>
