import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { bin, cleanEnv } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-serve-redis-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('tiercache serve --redis', () => {
  it('exits 2 at once, with a coded message, when TIERCACHE_KEYS is malformed', () => {
    // A serve that left a Redis connection open would not exit: the timeout kills it (status null).
    const run = spawnSync(process.execPath, [bin, 'serve', '--port', '0', '--sqlite', join(dir, 'cache.db'), '--redis', TEST_REDIS_URL, '--quiet'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...cleanEnv(), TIERCACHE_KEYS: 'k1:not-a-key' },
      timeout: 15_000,
    })
    expect(run.stderr).toMatch(/^error TC_INVALID_OPTIONS: TIERCACHE_KEYS entry 1 \(id "k1"\): key must be 32 bytes in base64/)
    expect(run.stderr).not.toMatch(/\n\s+at /)
    expect(run.status).toBe(2)
  })
})
