/**
 * The AI response cache (docs/ai.md): an OpenAI-compatible caching layer, for the gateway's routes
 * and for programs that call a model themselves.
 */
export { type AiAnswer, AiCache, type AiCacheOptions, type AiCacheStatus, type AiCallOptions, type AiInvalidation, DEFAULT_NAMESPACE, createAiCache, modelTag, parseResponsesRequest, typeTag, parseChatRequest } from './ai-cache.js'
export { type AiStreamAnswer } from './chat-stream.js'
export { assembleStream, completionToSse } from './sse.js'
export { AI_KEY_VERSION, ANSWER_NEUTRAL_FIELDS, canonicalChatRequest, canonicalJson, chatKey } from './canonical.js'
export { DEFAULT_TEMPERATURE, isDeterministic } from './determinism.js'
export { type HttpUpstreamOptions, type Upstream, type UpstreamAnswer, type UpstreamStream, httpUpstream } from './upstream.js'
export { AiAccounting, type AiUsageRow, type AnswerLabels, type AnswerStatus, type ModelPrice, OTHER_MODEL, type Prices, type Saving } from './accounting.js'
export { type SemanticOptions } from './semantic-layer.js'
export * from './semantic/index.js'
export { RESPONSES_NEUTRAL_FIELDS, assembleResponseStream, isCompletedResponse, responseToSse, responsesKey } from './responses.js'
export { type Operation, type StreamFormat } from './operations.js'
export type { RelayEvent, RelayWriter, StreamRelay } from './stream-relay.js'
