/**
 * The Lua scripts of the Redis tier, each atomic on one namespace (one hash slot, see keys.ts), and
 * how they are run.
 *
 * Scripts build some keys themselves (the tag sets of an entry being replaced, whose tags only the
 * stored record knows). All of them start with the namespace's hash tag, so they hash to the slot of
 * the declared KEYS; Redis (6 and 7, cluster or not) runs such scripts, and they stay correct in a
 * cluster because the whole namespace lives on one node.
 *
 * Scripts touch only keys under the tier's prefix and never scan the keyspace (no KEYS, no SCAN).
 * Random sampling (SRANDMEMBER, ZRANDMEMBER) is fine: Redis replicates a script's effects, not the
 * script (the default since 5.0, the only way since 7.0). ZRANDMEMBER and `ZADD ... GT` need Redis
 * 6.2 or later (or any Valkey).
 */
import { type LuaScript, luaScript } from '../../redis/client.js'
import { ENTRY_MARKER, TAG_MARKER } from './keys.js'
import { RECORD_HEADER_BYTES, RECORD_VERSION } from './record.js'

function script(name: string, body: string): LuaScript {
  return luaScript(name, `${PRELUDE}\n${body}`)
}

/** Most members a `set` samples from the index and from each of its tag sets to prune dead ones. */
export const PRUNE_SAMPLE = 2

// Helpers shared by every script. `read_tags` follows the record layout of record.ts: it reads the
// header and the tag block with GETRANGE (512 bytes first, which covers the tags of most entries),
// never the payload.
const PRELUDE = `
local HEADER = ${RECORD_HEADER_BYTES}
local E, T = '${ENTRY_MARKER}', '${TAG_MARKER}'
local function u32(s, i)
  local a, b, c, d = string.byte(s, i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
-- The tags of a record whose first bytes are head (the whole record, or its first 512 bytes, in
-- which case ekey names it for the rest): a list, or false when it cannot be read (then its tag sets
-- are unknown).
local function tags_of(head, ekey)
  if #head < HEADER or string.byte(head, 1) ~= ${RECORD_VERSION} then return false end
  local n = u32(head, HEADER - 3)
  if n == 0 then return {} end
  local block
  if HEADER + n <= #head then
    block = string.sub(head, HEADER + 1, HEADER + n)
  elseif ekey then
    block = redis.call('GETRANGE', ekey, HEADER, HEADER + n - 1)
    if #block < n then return false end
  else
    return false
  end
  local tags, i = {}, 1
  while i <= n do
    if i + 3 > n then return false end
    local len = u32(block, i)
    if i + 3 + len > n then return false end
    tags[#tags + 1] = string.sub(block, i + 4, i + 3 + len)
    i = i + 4 + len
  end
  return tags
end
-- The tags of the entry stored at ekey, as tags_of says; nil when there is no entry.
local function read_tags(ekey)
  local head = redis.call('GETRANGE', ekey, 0, 511)
  if head == '' then return nil end
  return tags_of(head, ekey)
end
local function has(list, item)
  for _, x in ipairs(list) do if x == item then return true end end
  return false
end
-- Pushes the expiry of k to at least ttl ms from now (a key just created has none: PTTL -1).
local function extend(k, ttl)
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
-- ZREM / UNLINK / SREM of many members, in slices that stay below Lua's unpack limit.
local function in_slices(command, k, list)
  for i = 1, #list, 1000 do
    redis.call(command, k, unpack(list, i, math.min(i + 999, #list)))
  end
end
`

/** Records up to this many bytes are written with `SET ... GET`, which returns the replaced record whole. */
export const SET_GET_MAX_BYTES = 4096

/**
 * Stores an entry, replacing the one under its key.
 *
 * KEYS: entry, index, then the tag set of each new tag. ARGV: base, key, ttl in ms (<= 0: the entry
 * is already dead, so the old one is removed and nothing written), record, '1' to write with
 * `SET ... GET` (a record of at most {@link SET_GET_MAX_BYTES}) else '0', then the new tags (same
 * order as their KEYS). Returns 1 when the namespace's index did not exist before (a new or
 * reappeared namespace: the caller re-registers it), else 0.
 *
 * The common case, an overwrite, costs two commands besides the tags': `SET ... GET` (Redis 6.2)
 * writes the new record and hands back the old one, whose tags tell which tag sets to leave; and
 * PTTL on the index. A live entry is always in the index, so only a new one is added to it. A large
 * record is written after a GETRANGE of the old one's head instead, so that a big value is not copied
 * into the script.
 *
 * Also prunes: each time it adds a member to the index or to a tag set, it samples
 * {@link PRUNE_SAMPLE} members of that set and removes those whose entry is gone (or, for a tag set,
 * no longer carries the tag). Dead members only ever come from additions, and each addition removes
 * dead ones in proportion to their share (2 × share on average), so in steady state dead members stay
 * at most about as many as live ones. An overwrite that keeps its key and tags adds nothing and
 * samples nothing.
 */
export const SET_SCRIPT = script(
  'set',
  `
local base, key, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local old
local written = false
if ttl > 0 and ARGV[5] == '1' then
  local replaced = redis.call('SET', KEYS[1], ARGV[4], 'PX', ttl, 'GET')
  if replaced then old = tags_of(replaced, false) end
  written = true
else
  old = read_tags(KEYS[1])
end
local new = {}
for i = 6, #ARGV do new[ARGV[i]] = true end
if old then
  for _, t in ipairs(old) do
    if ttl <= 0 or not new[t] then redis.call('SREM', base .. T .. t, key) end
  end
end
if ttl <= 0 then
  if old ~= nil then redis.call('UNLINK', KEYS[1]) end
  redis.call('ZREM', KEYS[2], key)
  return 0
end
if not written then redis.call('SET', KEYS[1], ARGV[4], 'PX', ttl) end
local created = false
if old == nil and redis.call('ZADD', KEYS[2], 0, key) == 1 then
  created = redis.call('ZCARD', KEYS[2]) == 1
  for _, m in ipairs(redis.call('ZRANDMEMBER', KEYS[2], ${PRUNE_SAMPLE})) do
    if m ~= key and redis.call('EXISTS', base .. E .. m) == 0 then redis.call('ZREM', KEYS[2], m) end
  end
end
extend(KEYS[2], ttl)
for i = 3, #KEYS do
  local tk, tag = KEYS[i], ARGV[i + 3]
  if redis.call('SADD', tk, key) == 1 then
    for _, m in ipairs(redis.call('SRANDMEMBER', tk, ${PRUNE_SAMPLE})) do
      if m ~= key then
        local tags = read_tags(base .. E .. m)
        if tags == nil or (tags and not has(tags, tag)) then redis.call('SREM', tk, m) end
      end
    end
  end
  extend(tk, ttl)
end
if created then return 1 end
return 0
`,
)

/**
 * Compare-and-set of an entry's record, keeping its expiry. KEYS: entry. ARGV: the record expected,
 * the new record. Returns 1 when replaced, 0 when the entry is gone or was written meanwhile.
 */
export const REWRITE_SCRIPT = script(
  'rewrite',
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`,
)

/** Removes one entry. KEYS: entry, index. ARGV: base, key. Returns 1 when there was one, else 0. */
export const DELETE_SCRIPT = script(
  'delete',
  `
local base, key = ARGV[1], ARGV[2]
local tags = read_tags(KEYS[1])
redis.call('ZREM', KEYS[2], key)
if tags == nil then return 0 end
if tags then
  for _, t in ipairs(tags) do redis.call('SREM', base .. T .. t, key) end
end
redis.call('UNLINK', KEYS[1])
return 1
`,
)

/**
 * Removes every entry of the namespace carrying one of the tags, and the tags' sets. KEYS: index,
 * then the tag sets. ARGV: base, then the tags (same order). Returns the number of entries removed,
 * each once.
 *
 * A tag set may hold stale members: keys whose entry expired and was written again without the tag.
 * So each member's current tags are checked before it is removed; stale members only go with the
 * set. An unreadable record found through a tag is removed too.
 */
export const DELETE_BY_TAGS_SCRIPT = script(
  'deleteByTags',
  `
local base = ARGV[1]
local wanted = {}
for i = 2, #ARGV do wanted[ARGV[i]] = true end
local removed = {}
for _, key in ipairs(redis.call('SUNION', unpack(KEYS, 2))) do
  local ekey = base .. E .. key
  local tags = read_tags(ekey)
  if tags ~= nil then
    local hit = tags == false
    if tags then
      for _, t in ipairs(tags) do
        if wanted[t] then hit = true break end
      end
    end
    if hit then
      if tags then
        for _, t in ipairs(tags) do
          if not wanted[t] then redis.call('SREM', base .. T .. t, key) end
        end
      end
      redis.call('UNLINK', ekey)
      removed[#removed + 1] = key
    end
  end
end
in_slices('ZREM', KEYS[1], removed)
redis.call('UNLINK', unpack(KEYS, 2))
return #removed
`,
)

/**
 * Removes up to ARGV[2] entries of the namespace (the first ones of its index) with their tag
 * memberships. KEYS: index. ARGV: base, batch size. Returns how many index members it removed; fewer
 * than the batch size means the namespace is empty.
 */
export const CLEAR_BATCH_SCRIPT = script(
  'clearBatch',
  `
local base = ARGV[1]
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
for _, key in ipairs(members) do
  local ekey = base .. E .. key
  local tags = read_tags(ekey)
  if tags then
    for _, t in ipairs(tags) do redis.call('SREM', base .. T .. t, key) end
  end
  if tags ~= nil then redis.call('UNLINK', ekey) end
end
in_slices('ZREM', KEYS[1], members)
return #members
`,
)

/**
 * Lists live keys in byte order. KEYS: index. ARGV: base, start bound for ZRANGEBYLEX (`-`, or `(`
 * followed by the cursor), how many keys are wanted, how many index members it may examine at most.
 * Index members whose entry is gone are removed as they are met.
 *
 * Returns `{ exhausted, last, key... }`: `exhausted` is 1 when the index has nothing after what was
 * examined; `last` is the last member examined (the next call's cursor when the budget ran out
 * before the page was full).
 */
export const KEYS_SCRIPT = script(
  'keys',
  `
local base, start = ARGV[1], ARGV[2]
local want, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {0, ''}
local found, examined = 0, 0
while found < want and examined < budget do
  local batch = math.min(want - found + 16, budget - examined)
  local members = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, batch)
  for _, m in ipairs(members) do
    examined = examined + 1
    out[2] = m
    if redis.call('EXISTS', base .. E .. m) == 1 then
      found = found + 1
      out[#out + 1] = m
      if found == want then return out end
    else
      redis.call('ZREM', KEYS[1], m)
    end
  end
  if #members < batch then
    out[1] = 1
    return out
  end
  start = '(' .. members[#members]
end
return out
`,
)

/**
 * Registers a namespace as possibly holding entries until ARGV[2] (epoch ms; a later time wins).
 * KEYS: registry. ARGV: namespace, until, the registry's ttl in ms (pushed later, never earlier).
 */
export const REGISTER_SCRIPT = script(
  'register',
  `
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
extend(KEYS[1], tonumber(ARGV[3]))
return 1
`,
)

/** Drops namespaces registered until before ARGV[1] (epoch ms) and lists the rest. KEYS: registry. */
export const NAMESPACES_SCRIPT = script(
  'namespaces',
  `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`,
)

export { type LuaScript, type ScriptArg, runScript } from '../../redis/client.js'
