/** Where a command writes, so that tests can run commands in-process and capture their output. */
export interface CliContext {
  /** Results: tables, JSON. */
  readonly stdout: NodeJS.WritableStream
  /** Errors, warnings, progress bars. `isTTY` decides whether a progress bar is drawn. */
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean }
}

/** The process's own streams. */
export function processContext(): CliContext {
  return { stdout: process.stdout, stderr: process.stderr }
}
