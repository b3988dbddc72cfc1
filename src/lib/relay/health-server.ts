import {createServer, type Server} from 'node:http'

import {ExitCode, HcctlError} from '../errors.js'
import type {AgentHealth} from './agent.js'

/** The agent's /healthz (JSON, 200 or 503) and /metrics (Prometheus) on one address. */
export async function serveHealth(address: {host: string; port: number}, agent: {health(): AgentHealth; metrics(): string}): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {Allow: 'GET'}).end()
    } else if (path === '/healthz') {
      const h = agent.health()
      res.writeHead(h.status === 'ok' ? 200 : 503, {'Content-Type': 'application/json'}).end(JSON.stringify(h) + '\n')
    } else if (path === '/metrics') {
      res.writeHead(200, {'Content-Type': 'text/plain; version=0.0.4; charset=utf-8'}).end(agent.metrics())
    } else {
      res.writeHead(404, {'Content-Type': 'text/plain'}).end('Not found: try /healthz or /metrics\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new HcctlError(`Cannot serve health on ${address.host}:${address.port}: ${e.code ?? e.message}.`, ExitCode.Conflict, {code: 'HealthAddressInUse', suggestions: ['Choose another --health address, or omit it.']})),
    )
    server.listen(address.port, address.host, () => resolve())
  })
return server
}

export async function closeHealthServer(s: Server): Promise<void> {
s.closeAllConnections?.()
await new Promise<void>((resolve) => s.close(() => resolve()))
}
