import {once} from 'node:events'
import {createServer, type Server} from 'node:http'
import {type AddressInfo, connect, type Socket} from 'node:net'

export interface ConnectProxy {
  server: Server
  /** http://127.0.0.1:PORT, for HTTPS_PROXY */
  url: string
  /** The CONNECT targets it was asked for, in order. */
  tunnels: string[]
  close(): Promise<void>
}

/**
 * A minimal HTTP CONNECT proxy on 127.0.0.1 for tests of HTTPS_PROXY handling. It tunnels every
 * CONNECT, or answers 403 to each when `refuse` is set; plain requests get 400.
 */
export async function startConnectProxy(options: {refuse?: boolean} = {}): Promise<ConnectProxy> {
  const tunnels: string[] = []
  const server = createServer((_req, res) => res.writeHead(400).end())
  server.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push(String(req.url))
    if (options.refuse) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const [host, port] = String(req.url).split(':')
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client).pipe(upstream)
    })
    // A tunnel lives as long as both ends: when one goes, the other is cut (as real proxies do).
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
