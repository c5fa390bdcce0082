// Removes, from package-lock.json, optional dependencies whose packages the lock does not hold.
// The npm registry these machines reach lacks some platform builds (e.g. msgpackr-extract for macOS
// and Windows): `npm install` skips them silently, but `npm ci` then refuses the lock. Run this after
// every dependency change: `node scripts/prune-lock.mjs`.
import { readFileSync, writeFileSync } from 'node:fs'

const path = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(path, 'utf8'))
let pruned = 0
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    const installedBeside = `${location ? `${location}/` : ''}node_modules/${name}`
    if (!lock.packages[installedBeside] && !lock.packages[`node_modules/${name}`]) {
      delete entry.optionalDependencies[name]
      pruned++
    }
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`pruned ${pruned} unavailable optional dependencies`)
