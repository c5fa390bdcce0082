/** Entry point of the `tiercache` command (bin/tiercache.js imports it); see ./program.ts. */
import { runCli } from './program.js'

// exitCode, not exit(): the process ends once stdout is flushed (and, for serve, once it shuts down).
process.exitCode = await runCli(process.argv)
