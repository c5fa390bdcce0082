import { type Command, Option } from 'commander'
import { InvalidOptionsError } from '../../errors.js'
import { type KeyExplanation, KeyBuilder } from '../../policy/keys/builder.js'
import type { ParamSpec } from '../../policy/keys/schema.js'
import { loadPolicyConfig } from '../../policy/load.js'
import type { CliContext } from '../context.js'
import { policyFileOption } from '../policy-file.js'
import { formatFields, formatTable } from '../format.js'

interface ExplainFlags {
  readonly policyFile: string
  readonly param: readonly string[]
  readonly context: readonly string[]
  readonly json?: boolean
}

/** `--param name=value` (repeatable) into its pairs; a name given twice is refused. */
export function pairsOf(flag: string, entries: readonly string[]): Map<string, string> {
  const pairs = new Map<string, string>()
  for (const entry of entries) {
    const at = entry.indexOf('=')
    if (at <= 0) throw new InvalidOptionsError(`${flag} takes name=value, not '${entry}'`)
    const name = entry.slice(0, at)
    if (pairs.has(name)) throw new InvalidOptionsError(`${flag} ${name} is given twice`)
    pairs.set(name, entry.slice(at + 1))
  }
  return pairs
}

/**
 * A param's value from the command line: text for typed params (the builder reads `'2'` of an
 * integer param as 2, as it does for a query string), and for untyped (`json`) ones the JSON the
 * text spells when it spells one (`2`, `true`, `{"a":1}`, `"2"` for the text 2), else the text itself.
 */
export function paramFromText(spec: ParamSpec | undefined, text: string): unknown {
  if (spec !== undefined && spec.type !== 'json') return text
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

const collect = (value: string, previous: readonly string[]): string[] => [...previous, value]

/**
 * `tiercache key explain <builder> --policy-file <path> --param k=v ... --context k=v ... [--json]`:
 * how the builder of a policy file makes the key of a request, step by step (each param as keyed,
 * each context field with its rule and bucket, the canonical text and the key), without a cache or a
 * server. Context values are given as text, as a query string carries them.
 */
export function registerKey(program: Command, ctx: CliContext): void {
  const key = program.command('key').description('context-aware cache keys of a policy file (keys.builders): how one is made')
  key
    .command('explain')
    .description('explain the key a builder makes for the given params and context: each field with its raw value, rule and bucket, the canonical text and the key')
    .argument('<builder>', 'the builder, as keys.builders names it')
    .addOption(policyFileOption('required'))
    .addOption(new Option('--param <name=value>', 'a request param (repeat for each); untyped params read JSON when the value is JSON').argParser(collect).default([]))
    .addOption(new Option('--context <name=value>', 'a context field (repeat for each), e.g. location=Austin date=2025-06-14').argParser(collect).default([]))
    .option('--json', 'print the explanation as JSON')
    .action(async (builder: string, flags: ExplainFlags) => {
      const keys = new KeyBuilder(await loadPolicyConfig(flags.policyFile))
      const specs = new Map(keys.paramsOf(builder).map((spec) => [spec.name, spec]))
      const params = Object.fromEntries([...pairsOf('--param', flags.param)].map(([name, text]) => [name, paramFromText(specs.get(name), text)]))
      const context = Object.fromEntries(pairsOf('--context', flags.context))
      const explained = keys.explain(builder, params, context)
      ctx.stdout.write(flags.json === true ? JSON.stringify(explained) + '\n' : formatKeyExplanation(explained) + '\n')
    })
}

const json = (value: unknown): string => (value === undefined ? '-' : JSON.stringify(value))

/** An explanation for people: the key, the params as keyed, the context fields with their buckets, the canonical text. */
export function formatKeyExplanation(explained: KeyExplanation): string {
  const summary = formatFields([
    ['builder', `${explained.builder}, version ${explained.version}`],
    ['key', explained.key],
  ])
  const params = [['param', 'type', 'given', 'keyed as'], ...explained.params.map((step) => [step.name, step.optional ? `${step.type}, optional` : step.type, json(step.raw), json(step.value)])]
  const context = [
    ['context', 'given', 'bucket', 'rule', 'why'],
    ...explained.context.map((step) => [step.field, json(step.raw), step.bucket ?? '-', step.rule, step.reason]),
  ]
  return [
    summary,
    '',
    explained.params.length === 0 ? 'no params' : formatTable(params, ['left']),
    '',
    explained.context.length === 0 ? 'no context fields' : formatTable(context, ['left']),
    '',
    formatFields([['canonical', explained.canonical]]),
  ].join('\n')
}
