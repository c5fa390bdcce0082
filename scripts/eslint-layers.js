// A lint rule that keeps the layers of docs/design.md one-way: a module imports only from its own
// folder or from folders below it. Relative imports are resolved, so `../redis/` from `src/bus/`
// (plumbing) and `./redis/` inside `src/tiers/` (a tier) are told apart.
import path from 'node:path'

/** Top-level folders (and root files) of `src/`, highest first; each may import those after it. */
export const LAYERS = [
  ['adapters'],
  ['cli'],
  ['server'],
  // The package's entry points: the public API, which the front doors above use as users do.
  ['index.ts', 'redis.ts'],
  ['ai'],
  ['http-cache'],
  ['policy'],
  ['metrics'],
  ['cache'],
  ['security'],
  ['bus'],
  ['tiers'],
  ['sql', 'redis'],
  ['core'],
  ['errors.ts'],
]

const rankOf = new Map(LAYERS.flatMap((names, rank) => names.map((name) => [name, rank])))

/** The layer of a file under `src/`, or undefined outside it. */
function layerOf(srcRoot, file) {
  const relative = path.relative(srcRoot, file)
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined
  const [first, ...rest] = relative.split(path.sep)
  // Root files are named with .ts in LAYERS; imports name them with .js.
  const name = rest.length === 0 ? first.replace(/\.js$/, '.ts') : first
  return { name, rank: rankOf.get(name) }
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports only run down the layers of docs/design.md' },
    schema: [],
    messages: {
      upward: "'{{from}}' may not import from '{{to}}': it is a layer above (see docs/design.md, Layout)",
      unknown: "'{{name}}' is not a layer of src/: add it to LAYERS in scripts/eslint-layers.js",
    },
  },
  create(context) {
    const srcRoot = path.join(context.cwd, 'src')
    const from = layerOf(srcRoot, context.filename)
    if (from === undefined) return {}
    const check = (node) => {
      const spec = node.source?.value
      if (typeof spec !== 'string' || !spec.startsWith('.')) return
      const to = layerOf(srcRoot, path.resolve(path.dirname(context.filename), spec))
      if (to === undefined || to.name === from.name) return
      for (const layer of [from, to]) {
        if (layer.rank === undefined) return context.report({ node, messageId: 'unknown', data: { name: layer.name } })
      }
      if (to.rank < from.rank) context.report({ node, messageId: 'upward', data: { from: from.name, to: to.name } })
    }
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check }
  },
}

export default { rules: { 'one-way': rule } }
