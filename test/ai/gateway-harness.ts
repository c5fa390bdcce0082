import OpenAI from 'openai'
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions'
import { type AiCache, type AiCacheOptions, createAiCache, httpUpstream } from '../../src/ai/index.js'
import { type Cache, createCache } from '../../src/index.js'
import { startServer } from '../../src/server/index.js'
import { type KeyStore, openKeyStore } from '../server/helpers.js'
import { type FakeUpstream, startFakeUpstream } from './upstream-server.js'

/** The gateway on a memory cache in front of a fake upstream, with a key of tenant acme and one of globex. */
export interface Gateway {
  readonly upstream: FakeUpstream
  readonly store: KeyStore
  readonly cache: Cache
  readonly ai: AiCache
  readonly url: string
  readonly acmeKey: string
  readonly acme: OpenAI
  readonly globex: OpenAI
  /** An openai client of the gateway with `apiKey`. */
  client(apiKey: string): OpenAI
  /** Erases both tenants' answers (every tier) and the upstream's calls: a clean slate for the next test. */
  reset(): Promise<void>
  close(): Promise<void>
}

export async function startGateway(options: Omit<AiCacheOptions, 'cache' | 'upstream'> = {}): Promise<Gateway> {
  const upstream = await startFakeUpstream()
  const store = await openKeyStore()
  // An L3, for user-scoped answers, which L1 does not hold.
  const cache = createCache({ l3: { sqlite: ':memory:' } })
  const ai = createAiCache({ cache, upstream: httpUpstream({ baseUrl: upstream.url, apiKey: 'upstream-secret' }), ...options })
  const started = await startServer({ cache, credentials: store.credentials, ai, port: 0 })
  const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${started.url}/v1/ai`, maxRetries: 0 })
  const acmeKey = (await store.createKey()).key
  return {
    upstream,
    store,
    cache,
    ai,
    url: started.url,
    acmeKey,
    acme: client(acmeKey),
    globex: client((await store.createKey({ tenant: 'globex' })).key),
    client,
    async reset() {
      await Promise.all([cache.erase({ tenantId: 'acme' }), cache.erase({ tenantId: 'globex' })])
      upstream.calls.length = 0
    },
    async close() {
      await started.app.close()
      await cache.close()
      await store.close()
      await upstream.close()
    },
  }
}

/** A deterministic chat request: the wedding planner's system prompt and `content`. */
export const ask = (content: string, extra: Partial<ChatCompletionCreateParamsNonStreaming> = {}): ChatCompletionCreateParamsNonStreaming => ({
  model: 'gpt-test',
  temperature: 0,
  messages: [{ role: 'system', content: 'You plan weddings.' }, { role: 'user', content }],
  ...extra,
})
