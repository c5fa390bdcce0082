import { existsSync } from 'node:fs'
import { join } from 'node:path'

/** Folder of the shared public traces (see its README); TIERCACHE_TRACES overrides it. */
export const TRACES_DIR = process.env.TIERCACHE_TRACES ?? '/work/shared/traces'

/** Path of a shared trace, e.g. `glimpse.keys.gz`. */
export function tracePath(name: string): string {
  return join(TRACES_DIR, name)
}

/** True when the shared trace is present; tests that need it are skipped, not failed, without it. */
export function hasTrace(name: string): boolean {
  return existsSync(tracePath(name))
}
