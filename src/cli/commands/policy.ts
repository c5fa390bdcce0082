import { type Command, Option } from 'commander'
import { Policy, type TtlExplanation, type TtlStep, loadPolicyConfig } from '../../index.js'
import type { CliContext } from '../context.js'
import { policyFileOption } from '../policy-file.js'
import { contextPairFlag, dateFlag } from '../flags.js'
import { formatFields, formatSpan, formatTable } from '../format.js'

interface ExplainFlags {
  readonly policyFile: string
  readonly role?: 'anon' | 'authenticated' | 'service'
  readonly freshness?: string
  readonly volatility?: string
  readonly marketTier?: string
  readonly context: Readonly<Record<string, string>>
  readonly date?: number
  readonly json?: boolean
}

const STEP_LABELS: Readonly<Record<TtlStep['step'], string>> = {
  ttl: 'ttl',
  role: 'role',
  freshness: 'freshness',
  volatility: 'volatility',
  marketTier: 'market tier',
  season: 'season',
  bounds: 'bounds',
  jitter: 'jitter',
}

/**
 * `tiercache policy explain <policy> --policy-file <path> [--role r] [--freshness f] [--volatility v]
 * [--market-tier t] [--context key=value ...] [--date d] [--json]`: the ttl a call naming the policy
 * would get, step by step in the fixed order of docs/policies.md (role, freshness, volatility, market
 * tier, season, bounds, jitter), read from a policy file (JSON or an ES module) as `serve` reads it.
 * The named flags win over the same fields given with `--context`.
 */
export function registerPolicy(program: Command, ctx: CliContext): void {
  const policy = program.command('policy').description('inspect a policy file: explain how a ttl is computed')
  policy
    .command('explain')
    .description('print each step of the ttl of a call naming <policy>: role, freshness, volatility, market tier, season, bounds, jitter')
    .argument('<policy>', 'the policy, as the configuration names it (e.g. flightStatus)')
    .addOption(policyFileOption('required'))
    .addOption(new Option('--role <role>', "the calling view's role (none: no role factor)").choices(['anon', 'authenticated', 'service']))
    .addOption(new Option('--freshness <class>', 'context.freshness, e.g. realtime'))
    .addOption(new Option('--volatility <class>', "context.volatility (default: the policy's own)"))
    .addOption(new Option('--market-tier <tier>', "context.marketTier (default: the policy's own)"))
    .addOption(new Option('--context <key=value>', 'another context field; repeatable').argParser(contextPairFlag('--context')).default({}, 'none'))
    .addOption(new Option('--date <date>', 'when the call happens, for the seasons: 2026-07-01 (UTC midnight) or an ISO time (default: now)').argParser(dateFlag('--date')))
    .option('--json', 'print JSON')
    .action(async (name: string, flags: ExplainFlags) => {
      const config = await loadPolicyConfig(flags.policyFile)
      const layer = new Policy(config)
      const now = flags.date ?? Date.now()
      const context: Record<string, string> = { ...flags.context }
      if (flags.freshness !== undefined) context.freshness = flags.freshness
      if (flags.volatility !== undefined) context.volatility = flags.volatility
      if (flags.marketTier !== undefined) context.marketTier = flags.marketTier
      const explanation = layer.ttl.explain({ policy: name, role: flags.role, context, now })
      const seasons = layer.ttl.seasonsAt(now)
      if (flags.json === true) {
        ctx.stdout.write(JSON.stringify({ ...explanation, at: new Date(now).toISOString(), seasons, l1Scale: layer.l1Scale(now) }) + '\n')
        return
      }
      ctx.stdout.write(formatExplanation(explanation, seasons, layer.l1Scale(now)) + '\n')
    })
}


function factorCell(step: TtlStep): string {
  if (step.step === 'ttl') return ''
  if (step.step === 'bounds') {
    const bounds = [step.floorMs === undefined ? '' : `floor ${formatSpan(step.floorMs)}`, step.ceilingMs === undefined ? '' : `ceiling ${formatSpan(step.ceilingMs)}`]
    return bounds.filter((text) => text !== '').join(', ')
  }
  if (step.step === 'jitter') return step.factor > 0 ? `-${+(step.factor * 100).toFixed(2)}% at most` : ''
  const cells = [step.factor === 1 ? '' : `×${step.factor}`, step.capMs === undefined ? '' : `cap ${formatSpan(step.capMs)}`]
  return cells.filter((text) => text !== '').join(', ')
}

/** The human explanation: one row per step, then the decision. */
export function formatExplanation(explanation: TtlExplanation, seasons: readonly string[], l1Scale: number): string {
  const rows = explanation.steps.map((step) => {
    const after = step.minMs !== undefined && step.minMs < step.afterMs ? `${formatSpan(step.minMs)} .. ${formatSpan(step.afterMs)}` : formatSpan(step.afterMs)
    return [STEP_LABELS[step.step], step.value ?? '-', factorCell(step), formatSpan(step.beforeMs), after]
  })
  const { min, max } = explanation.ttlMs
  const refresh = explanation.refresh
  const refreshText =
    refresh === undefined
      ? 'none'
      : [refresh.threshold === undefined ? '' : `at ${+(refresh.threshold * 100).toFixed(2)}% of the ttl`, refresh.beta === undefined ? '' : `XFetch β ${refresh.beta}`]
          .filter((text) => text !== '')
          .join('; ')
  return [
    `policy ${explanation.policy} at ${new Date(explanation.now).toISOString()}`,
    '',
    formatTable([['STEP', 'APPLIES', 'FACTOR', 'TTL BEFORE', 'TTL AFTER'], ...rows], ['left', 'left', 'left', 'right', 'right']),
    '',
    formatFields([
      ['ttl', min === max ? formatSpan(max) : `${formatSpan(min)} .. ${formatSpan(max)} (jitter)`],
      ['grace', explanation.graceMs === 0 ? '0' : formatSpan(explanation.graceMs)],
      ['refresh', refreshText],
      ['seasons', seasons.length === 0 ? 'none holds' : seasons.join(', ')],
      ['L1 scale', `×${l1Scale}`],
    ]),
  ].join('\n')
}
