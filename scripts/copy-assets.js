// Copies the files tsc does not emit (the dashboard's page, script and style sheet) into dist/, next to
// the compiled route that serves them. Run by `npm run build` after tsc.
import { cpSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const copies = [['src/server/dashboard', 'dist/server/dashboard']]

for (const [from, to] of copies) {
  rmSync(root + to, { recursive: true, force: true })
  cpSync(root + from, root + to, { recursive: true })
}
