import { type Server, type Socket, connect, createServer } from 'node:net'

/** A TCP proxy on a spare loopback port, through which a test can cut one client off its server. */
export interface TcpProxy {
  readonly port: number
  /** Closes every connection, and every new one at once, until {@link restore}: the server looks down. */
  cut(): void
  restore(): void
  close(): Promise<void>
}

/** Starts a proxy that forwards to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let open = true
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy()
    const upstream = connect(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => undefined)
      socket.on('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  const cut = () => {
    open = false
    for (const socket of sockets) socket.destroy()
  }
  return {
    port: address.port,
    cut,
    restore() {
      open = true
    },
    async close() {
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
