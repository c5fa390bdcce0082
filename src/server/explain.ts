/**
 * `GET /v1/entries/:namespace/:key?explain=true`: the read route's other answer, the key's
 * explanation (`cache.explain`, see docs/explain.md) in the caller's tenant scope, with the read
 * route's auth (role read; a service key may name another tenant). Kept apart from the route's
 * handler, which branches here first, so that the common read pays one property test for it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { callerOf } from './access.js'

/** The explanation as JSON: the read route's own serializer writes only a `Served`. */
function explanationJson(explanation: unknown): string {
  return JSON.stringify(explanation)
}

/** Answers 200 with the explanation of the request's `(namespace, key)`, in the caller's scope. */
export async function explainEntry(request: FastifyRequest, reply: FastifyReply, namespace: string, key: string): Promise<void> {
  const { view } = callerOf(request)
  const explanation = await view.namespace(namespace).explain(key)
  void reply.type('application/json; charset=utf-8').serializer(explanationJson).send(explanation)
}
