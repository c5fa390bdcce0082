import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { freePort, type RedisProcess, startRedisServer } from '../helpers/redis-server.js'
import { sleep } from './helpers.js'

const run = promisify(execFile)

/** A Redis Cluster of private redis-server processes (masters only), for tests. */
export interface TestCluster {
  readonly nodes: readonly RedisProcess[]
  stop(): Promise<void>
}

/**
 * Starts `masters` cluster-enabled servers, joins them with `redis-cli --cluster create`, and waits
 * for state ok. On failure, whatever was started is stopped.
 */
export async function startCluster(masters = 3): Promise<TestCluster> {
  const nodes: RedisProcess[] = []
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()))
  }
  try {
    for (let i = 0; i < masters; i++) {
      // The cluster bus gets a spare port of its own: the default, port + 10000, is past 65535 for
      // ephemeral ports above 55535. Full coverage is not required so that the cluster keeps
      // serving the slots it still has when a test kills a node.
      const busPort = await freePort()
      const args = ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000', '--cluster-require-full-coverage', 'no', '--cluster-port', String(busPort)]
      nodes.push(await startRedisServer(args))
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-yes'], { timeout: 20_000 })
    const deadline = Date.now() + 20_000
    for (const node of nodes) {
      const client = new Redis(node.url)
      try {
        for (;;) {
          const info = await client.cluster('INFO')
          if (String(info).includes('cluster_state:ok') && String(info).includes(`cluster_known_nodes:${masters}`)) break
          if (Date.now() > deadline) throw new Error('cluster did not reach state ok')
          await sleep(100)
        }
      } finally {
        client.disconnect()
      }
    }
    return { nodes, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
