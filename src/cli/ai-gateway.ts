/**
 * The AI gateway's options of `tiercache serve` (docs/ai.md): the upstream, its key (environment
 * only), prices, and semantic matching through the upstream's embeddings.
 */
import { type Command, Option } from 'commander'
import type { Redis } from 'ioredis'
import type { AiCache, MatcherConfig, Prices } from '../ai/index.js'
import type { Cache } from '../cache/cache.js'
import { InvalidOptionsError } from '../errors.js'
import type { Policy } from '../policy/layer.js'
import { type FlagParser, pricesFlag, urlFlag } from './flags.js'

/** The variable that holds the AI upstream's API key: read from the environment only, so that it is never in a process listing. */
export const AI_UPSTREAM_KEY_ENV = 'TIERCACHE_AI_UPSTREAM_KEY'

/** Default of `--ai-embedding-model`. */
export const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small'

/** The flags these options give. */
export interface AiFlags {
  readonly aiUpstream?: string
  readonly aiPrices?: Prices
  readonly aiSemantic?: MatcherConfig
  readonly aiEmbeddingModel?: string
}

/** `threshold:<similarity>` or `delta:<rate>`, as `--ai-semantic` takes it. */
export function semanticFlag(flag: string): FlagParser<MatcherConfig> {
  return (value) => {
    const match = /^(threshold|delta):(\d*\.?\d+)$/.exec(value.trim())
    const number = match === null ? NaN : Number(match[2])
    if (match?.[1] === 'threshold' && number > 0 && number <= 1) return { mode: 'threshold', threshold: number }
    if (match?.[1] === 'delta' && number > 0 && number < 1) return { mode: 'verified', delta: number }
    throw new InvalidOptionsError(`${flag} must be threshold:<similarity, 0 to 1> (e.g. threshold:0.92) or delta:<wrong-hit rate, 0 to 1> (e.g. delta:0.05), not '${value}'`)
  }
}

/** Adds the AI gateway's options to `command` (serve). */
export function addAiOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--ai-upstream <url>', `serve the AI gateway, /v1/ai, in front of this OpenAI-compatible API (e.g. https://api.openai.com/v1); its key is read from ${AI_UPSTREAM_KEY_ENV}`)
        .env('TIERCACHE_AI_UPSTREAM')
        .argParser(urlFlag('--ai-upstream')),
    )
    .addOption(
      new Option('--ai-prices <json>', 'prices of the AI gateway\'s models, US dollars per million tokens, e.g. {"gpt-4o-mini":{"inputPerMillion":0.15,"outputPerMillion":0.6}} (default: none, tokens saved are counted, money is not)')
        .env('TIERCACHE_AI_PRICES')
        .argParser(pricesFlag('--ai-prices')),
    )
    .addOption(
      new Option('--ai-semantic <mode>', 'semantic matching of chat requests: threshold:<similarity> (e.g. threshold:0.92), or delta:<largest wrong-hit rate> (e.g. delta:0.05) (default: off, exact matching only)')
        .env('TIERCACHE_AI_SEMANTIC')
        .argParser(semanticFlag('--ai-semantic')),
    )
    .addOption(new Option('--ai-embedding-model <model>', `the upstream's embedding model, for --ai-semantic (default ${DEFAULT_EMBEDDING_MODEL})`).env('TIERCACHE_AI_EMBEDDING_MODEL'))
}

/** @throws InvalidOptionsError (exit 2) for AI options without `--ai-upstream`, or an embedding model without `--ai-semantic` */
export function checkAiFlags(flags: AiFlags): void {
  for (const [given, name] of [[flags.aiPrices, '--ai-prices'], [flags.aiSemantic, '--ai-semantic']] as const) {
    if (given !== undefined && flags.aiUpstream === undefined) throw new InvalidOptionsError(`${name} needs --ai-upstream (or TIERCACHE_AI_UPSTREAM)`)
  }
  if (flags.aiEmbeddingModel !== undefined && flags.aiSemantic === undefined) throw new InvalidOptionsError('--ai-embedding-model needs --ai-semantic (or TIERCACHE_AI_SEMANTIC)')
}

/**
 * The AI gateway's cache in front of `--ai-upstream`, with the key of {@link AI_UPSTREAM_KEY_ENV};
 * `policy` gives cache types their ttls and context keys; with `redis` (serve's client and prefix),
 * streams in progress are relayed to the other instances. Undefined without `--ai-upstream`.
 */
export async function openAiCache(
  cache: Cache,
  flags: AiFlags,
  policy: Policy | undefined,
  redis?: { readonly client: Redis; readonly prefix?: string },
): Promise<AiCache | undefined> {
  if (flags.aiUpstream === undefined) return undefined
  // Loaded on demand, as the server is: undici is only needed here.
  const { createAiCache, httpUpstream, upstreamEmbedder } = await import('../ai/index.js')
  const apiKey = process.env[AI_UPSTREAM_KEY_ENV]
  const upstream = httpUpstream({ baseUrl: flags.aiUpstream, ...(apiKey === undefined || apiKey === '' ? {} : { apiKey }) })
  const semantic =
    flags.aiSemantic === undefined ? undefined : { embedder: upstreamEmbedder({ upstream, model: flags.aiEmbeddingModel ?? DEFAULT_EMBEDDING_MODEL }), matcher: flags.aiSemantic }
  // With Redis, a streamed request waiting in another instance follows the stream live.
  const relay = redis === undefined ? undefined : (await import('../ai/redis-stream-relay.js')).redisStreamRelay({ redis: redis.client, ...(redis.prefix === undefined ? {} : { prefix: redis.prefix }) })
  return createAiCache({
    cache,
    upstream,
    ...(relay === undefined ? {} : { relay }),
    ...(policy === undefined ? {} : { policy }),
    ...(flags.aiPrices === undefined ? {} : { prices: flags.aiPrices }),
    ...(semantic === undefined ? {} : { semantic }),
  })
}
