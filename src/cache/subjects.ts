import type { Served } from '../core/entry.js'
import { ForbiddenError, InvalidContextError } from '../errors.js'
import { keyPages, namespacesOf } from './listing.js'
import { PUBLIC_SCOPE, type Scope, levelOf, namespaceOf, scopeFor, userHashOf } from './scope.js'
import type { TierStack } from './tier-stack.js'
import type { ExportedEntry, Subject } from './types.js'

/**
 * The storage prefix of `subject`, which a view of scope `own` may erase or export: any subject from
 * a view without a context, its tenant or one of its users from a tenant view, itself from a user view.
 * @throws InvalidContextError (`TC_INVALID_CONTEXT`) for a malformed subject
 * @throws ForbiddenError (`TC_FORBIDDEN`) for a subject outside `own`
 */
export function subjectPrefix(own: Scope, subject: Subject): string {
  if (typeof subject !== 'object' || subject === null || subject.tenantId === undefined) {
    throw new InvalidContextError('a subject is { tenantId, userId? }')
  }
  const scope = scopeFor({ role: 'service', tenantId: subject.tenantId, userId: subject.userId })
  if (own !== PUBLIC_SCOPE && (own.tenantId !== scope.tenantId || (own.level === 'user' && own.userId !== scope.userId))) {
    throw new ForbiddenError('a scoped view may erase or export only within its own scope')
  }
  return scope.prefix
}

/**
 * Every stored entry under `prefix` (a subject's), namespace by namespace and key by key in the
 * listing tier's order, stale ones within grace included. `read` reads one page of keys without
 * backfilling; `stackOf` throws once the cache is closed.
 */
export async function* exportEntries(
  stackOf: () => TierStack,
  prefix: string,
  pageSize: number,
  read: (namespace: string, keys: readonly string[]) => Promise<(Served<unknown> | undefined)[]>,
): AsyncGenerator<ExportedEntry, void, undefined> {
  for (const namespace of await namespacesOf(stackOf(), prefix)) {
    const user = levelOf(namespace) === 'user' ? userHashOf(namespace) : undefined
    for await (const page of keyPages(stackOf, namespace, pageSize)) {
      const served = await read(namespace, page)
      for (const [index, key] of page.entries()) {
        const result = served[index]
        if (result === undefined) continue
        yield {
          ...(user === undefined ? { scope: 'tenant' as const } : { scope: 'user' as const, user }),
          namespace: namespaceOf(namespace),
          key,
          value: result.value,
          createdAt: Date.now() - result.ageMs,
          freshUntil: result.freshUntil,
          stale: result.stale,
        }
      }
    }
  }
}
