import { readFile } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { InvalidOptionsError } from '../errors.js'
import { type PolicyConfig, parsePolicyConfig } from './config.js'
import { Policy } from './layer.js'

/** The file types {@link loadPolicyConfig} reads. */
const MODULES = new Set(['.js', '.mjs'])

/**
 * Reads and validates a policy configuration file (docs/policies.md): a `.json` file, or an ES module
 * (`.js`, `.mjs`) whose default export is the configuration (an object, or a `Policy` from
 * `definePolicy`). A relative `path` is resolved against the working directory. The file is read
 * once; a module is imported as Node imports it (a second load of the same path gets the module
 * Node has cached).
 *
 * @returns the configuration, validated, defaults filled in
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) naming the file: unreadable, not JSON, another
 *   extension, a module without a default export or failing to load, or an invalid configuration
 *   (every problem with its path)
 */
export async function loadPolicyConfig(path: string): Promise<PolicyConfig> {
  const file = resolve(process.cwd(), path)
  const input = await readInput(path, file)
  if (input instanceof Policy) return input.config
  try {
    // A Policy of another copy of the package (instanceof fails across copies): its configuration.
    return parsePolicyConfig(isPolicyLike(input) ? input.config : input)
  } catch (error) {
    throw new InvalidOptionsError(`policy file ${path}: ${(error as Error).message}`, { cause: error })
  }
}

function isPolicyLike(input: unknown): input is { readonly config: unknown } {
  return typeof input === 'object' && input !== null && 'config' in input && 'decide' in input && typeof input.decide === 'function'
}

async function readInput(path: string, file: string): Promise<unknown> {
  const extension = extname(file).toLowerCase()
  if (extension === '.json') {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      throw new InvalidOptionsError(`policy file ${path} cannot be read: ${(error as Error).message}`, { cause: error })
    }
    try {
      return JSON.parse(text) as unknown
    } catch (error) {
      throw new InvalidOptionsError(`policy file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error })
    }
  }
  if (!MODULES.has(extension)) throw new InvalidOptionsError(`policy file ${path} must be .json, .js or .mjs (an ES module with a default export)`)
  let loaded: Record<string, unknown>
  try {
    loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (error) {
    throw new InvalidOptionsError(`policy file ${path} cannot be loaded: ${(error as Error).message}`, { cause: error })
  }
  if (!('default' in loaded) || loaded.default === undefined) {
    throw new InvalidOptionsError(`policy file ${path} has no default export: write \`export default { policies: { ... } }\``)
  }
  return loaded.default
}

/**
 * {@link loadPolicyConfig}, built into its layer: what `tiercache serve --policy` does, and what a
 * service hands to `createCache({ policies })`.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) as {@link loadPolicyConfig}
 */
export async function loadPolicy(path: string): Promise<Policy> {
  return new Policy(await loadPolicyConfig(path))
}
