/**
 * promtool (Debian's `prometheus` package) for tests, when installed: CI installs it (.ci/run); a
 * machine without it skips the tests that need it, and says so.
 */
import { spawnSync } from 'node:child_process'

/** True when `promtool` runs on this machine. */
export const HAS_PROMTOOL = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error === undefined

/** Runs promtool with `args` (and `input` on stdin); its exit code and its stdout and stderr together. */
export function promtool(args: readonly string[], input?: string): { code: number | null; output: string } {
  const ran = spawnSync('promtool', args, { encoding: 'utf8', ...(input === undefined ? {} : { input }), timeout: 60_000 })
  if (ran.error !== undefined) throw ran.error
  return { code: ran.status, output: `${ran.stdout}${ran.stderr}` }
}

/** Says plainly, in the test output, that promtool checks were skipped. */
export function reportSkipped(what: string): void {
  if (!HAS_PROMTOOL) console.warn(`promtool is not installed: skipped ${what} (apt install prometheus provides it; CI installs it)`)
}
