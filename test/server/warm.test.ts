// POST /v1/warm and GET /v1/warm/:id over a real cache (L1 + SQLite): runs in the caller's tenant,
// seen only by that tenant's admins, joined rather than overlapped, failures in the report, hot keys
// from the server's own top-keys sketches, and the coded refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { definePolicy } from '../../src/index.js'
import type { WarmSourceContext } from '../../src/policy/warm/index.js'
import { gate } from '../helpers/cache.js'
import { type Injector, type KeyedApp, type TestServer, expectError, get, keyed, openServer } from './helpers.js'

let release = gate()
const loads: string[] = []

const policy = definePolicy({
  policies: { reference: { ttl: '1h' } },
  warm: {
    jobs: {
      reference: {
        namespace: 'reference',
        policy: 'reference',
        source: async ({ key }: WarmSourceContext) => {
          loads.push(key)
          await release.promise
          return { key, from: 'warm' }
        },
        keys: ['countries', 'airports'],
      },
      flaky: {
        source: ({ key }: WarmSourceContext) => (key.startsWith('bad') ? Promise.reject(new Error(`no ${key}`)) : key),
        keys: ['good', 'bad1', 'bad2'],
      },
      listed: { keys: [{ key: 'only', source: () => 1 }] },
      hotFlights: { namespace: 'flights', source: ({ key }: WarmSourceContext) => `status of ${key}`, hot: { top: 1 } },
    },
  },
})

let server: TestServer
let bravo: KeyedApp
let writer: KeyedApp

beforeAll(async () => {
  server = await openServer({ policies: policy }, { policy })
  bravo = keyed(server.app, (await server.createKey({ tenant: 'bravo', roles: ['read', 'admin'] })).key)
  writer = keyed(server.app, (await server.createKey({ roles: ['read', 'write'] })).key)
})
afterAll(() => server.close())

const start = (app: Injector, body: unknown) => app.inject({ method: 'POST', url: '/v1/warm', payload: body as object })
const status = (app: Injector, id: string) => app.inject({ method: 'GET', url: `/v1/warm/${id}` })

interface Status {
  id: string
  job: string
  state: string
  joined?: boolean
  progress: { done: number; total: number; loaded: number; failed: number }
  report?: { loaded: number; failed: number; failures: { key: string; code: string }[] }
}

/** The run's status once it has ended: polled each turn of the event loop, never on a timer. */
async function ended(app: Injector, id: string): Promise<Status> {
  for (let turn = 0; turn < 10_000; turn++) {
    const response = await status(app, id)
    expect(response.statusCode, response.body).toBe(200)
    const body = response.json<Status>()
    if (body.state !== 'running') return body
    await new Promise((resolve) => setImmediate(resolve))
  }
  throw new Error(`run ${id} did not end`)
}

function started(response: LightMyRequestResponse): Status {
  expect(response.statusCode, response.body).toBe(202)
  const body = response.json<Status>()
  expect(response.headers.location).toBe(`/v1/warm/${body.id}`)
  return body
}

describe('POST /v1/warm', () => {
  it("runs a declared job in the caller's tenant, answers 202 at once, and joins a run going on", async () => {
    release = gate()
    loads.length = 0
    const first = started(await start(server, { job: 'reference' }))
    expect(first).toMatchObject({ job: 'reference', state: 'running', joined: false, progress: { done: 0, total: 2 } })
    const again = started(await start(server, { job: 'reference' }))
    expect(again).toMatchObject({ id: first.id, joined: true })
    // Another tenant's run of the same job is its own.
    const bravoRun = started(await start(bravo, { job: 'reference' }))
    expect(bravoRun.id).not.toBe(first.id)
    expect((await status(server, first.id)).json<Status>().state).toBe('running')
    release.open()
    const done = await ended(server, first.id)
    expect(done).toMatchObject({ state: 'done', progress: { done: 2, total: 2, loaded: 2, failed: 0 }, report: { loaded: 2, failed: 0 } })
    await ended(bravo, bravoRun.id)
    expect(loads.sort()).toEqual(['airports', 'airports', 'countries', 'countries'])
    // In acme's scope (read back over HTTP), not in the public one.
    const entry = await get(server, 'reference', 'countries')
    expect(entry.statusCode).toBe(200)
    expect(entry.json()).toMatchObject({ value: { key: 'countries', from: 'warm' }, source: 'l1' })
    expect(await server.cache.namespace('reference').get('countries')).toBeUndefined()
    expect(await server.view.namespace('reference').get('airports')).toEqual({ key: 'airports', from: 'warm' })
  })

  it("reports each key's failure with its code, and keeps serving", async () => {
    const run = started(await start(server, { job: 'flaky' }))
    const done = await ended(server, run.id)
    expect(done.report).toMatchObject({ loaded: 1, failed: 2 })
    expect(done.report?.failures.map((failure) => [failure.key, failure.code]).sort()).toEqual([
      ['bad1', 'TC_FACTORY_ERROR'],
      ['bad2', 'TC_FACTORY_ERROR'],
    ])
    expect((await get(server, 'default', 'good')).json()).toMatchObject({ value: 'good' })
  })

  it('loads only the keys named, through the job source', async () => {
    const run = started(await start(server, { job: 'flaky', keys: ['extra'] }))
    expect((await ended(server, run.id)).report).toMatchObject({ loaded: 1, failed: 0 })
    expect((await get(server, 'default', 'extra')).json()).toMatchObject({ value: 'extra' })
    expectError(await start(server, { job: 'listed', keys: ['unlisted'] }), 400, 'TC_INVALID_OPTIONS')
  })

  it("re-warms the tenant's busiest keys of the job's namespace, as its reads made them", async () => {
    await server.view.namespace('flights').set('BA117', 'old')
    for (let i = 0; i < 3; i++) await get(server, 'flights', 'BA117')
    await get(server, 'flights', 'LH400')
    // Bravo's reads are bravo's: they do not make acme's keys hot.
    for (let i = 0; i < 5; i++) await get(bravo, 'flights', 'AF1')
    const run = started(await start(server, { job: 'hotFlights' }))
    expect((await ended(server, run.id)).report).toMatchObject({ loaded: 1 })
    expect((await get(server, 'flights', 'BA117')).json()).toMatchObject({ value: 'status of BA117' })
    expect((await get(server, 'flights', 'AF1')).statusCode).toBe(404)
  })

  it('refuses an unknown job, a bad body and a key without the admin role, with their codes', async () => {
    const unknown = await start(server, { job: 'nope' })
    expectError(unknown, 404, 'TC_UNKNOWN_WARM_JOB')
    expect(unknown.json<{ error: { message: string } }>().error.message).toMatch(/jobs: flaky, hotFlights, listed, reference/)
    expectError(await start(server, {}), 400, 'TC_BAD_REQUEST')
    expectError(await start(server, { job: 'flaky', keys: [] }), 400, 'TC_BAD_REQUEST')
    expectError(await start(server, { job: 'flaky', other: 1 }), 400, 'TC_BAD_REQUEST')
    expectError(await start(writer, { job: 'flaky' }), 403, 'TC_FORBIDDEN')
  })
})

describe('GET /v1/warm/:id', () => {
  it("answers 404 TC_UNKNOWN_WARM_RUN for an unknown id and for another tenant's run", async () => {
    expectError(await status(server, 'no-such-run'), 404, 'TC_UNKNOWN_WARM_RUN')
    const run = started(await start(server, { job: 'listed' }))
    await ended(server, run.id)
    expectError(await status(bravo, run.id), 404, 'TC_UNKNOWN_WARM_RUN')
    expectError(await status(writer, run.id), 403, 'TC_FORBIDDEN')
  })
})

describe('closing the server', () => {
  it('stops the runs going on', async () => {
    const hanging = definePolicy({ warm: { jobs: { forever: { source: () => new Promise(() => {}), keys: ['k'] } } } })
    const own = await openServer({ policies: hanging }, { policy: hanging })
    const run = started(await start(own, { job: 'forever' }))
    expect(run.state).toBe('running')
    // Would wait for the source's 30 s timeout (past the test's) if the app did not stop its runs.
    await own.close()
  })
})

describe('a server without warming jobs', () => {
  it('answers 404 TC_UNKNOWN_WARM_JOB', async () => {
    const bare = await openServer()
    try {
      const response = await start(bare, { job: 'reference' })
      expectError(response, 404, 'TC_UNKNOWN_WARM_JOB')
      expect(response.json<{ error: { message: string } }>().error.message).toMatch(/declares none/)
    } finally {
      await bare.close()
    }
  })
})
