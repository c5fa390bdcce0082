import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type RedisProcess, freePort, startRedisServer } from './redis-server.js'

const run = promisify(execFile)

/** A Redis Cluster of the test's own: masters only, no replicas, on spare loopback ports. */
export interface RedisClusterProcess {
  /** One redis-server per master, in the order given to `redis-cli --cluster create`. */
  readonly nodes: readonly RedisProcess[]
  /** `{ host, port }` of every node, as `new Cluster(startupNodes)` takes them. */
  readonly startupNodes: readonly { readonly host: string; readonly port: number }[]
  /** Kills every node and removes their folders. Idempotent. */
  stop(): Promise<void>
}

/**
 * Starts `masters` redis-server processes in cluster mode (`--cluster-node-timeout 2000`, the cluster
 * bus on a spare port of its own, since port + 10000 may be taken or out of range), joins them with
 * `redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes`, and resolves once every node
 * reports `cluster_state:ok`. On failure, whatever was started is stopped.
 * @param masters - number of masters; Redis needs at least 3
 * @param timeoutMs - longest wait for the cluster to be ok
 */
export async function startRedisCluster(masters = 3, timeoutMs = 15_000): Promise<RedisClusterProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-cluster-'))
  const nodes: RedisProcess[] = []
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort()
      const busPort = await freePort()
      const args = [
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', '2000',
        // the cluster keeps serving the slots it still has when a test kills a node
        '--cluster-require-full-coverage', 'no',
        '--cluster-port', String(busPort),
      ]
      nodes.push(await startRedisServer(args, port))
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`)
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: timeoutMs })
    const deadline = Date.now() + timeoutMs
    for (const node of nodes) {
      while (!(await clusterOk(node.port))) {
        if (Date.now() > deadline) throw new Error(`cluster node on port ${node.port} did not reach cluster_state:ok`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    return { nodes, startupNodes: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })), stop }
  } catch (error) {
    await stop()
    throw error
  }
}

async function clusterOk(port: number): Promise<boolean> {
  try {
    const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info'], { timeout: 2_000 })
    return stdout.includes('cluster_state:ok')
  } catch {
    return false
  }
}
