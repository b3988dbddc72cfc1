import {randomUUID} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import type {Duplex} from 'node:stream'

import {type WebSocket, WebSocketServer} from 'ws'

import {createCertificateAuthority, createServerCertificate} from '../../../src/emulator/certs.js'
import type {RelayTransport} from '../../../src/lib/relay/transport.js'
import {parseRelayTarget} from '../../../src/lib/relay/protocol.js'

/**
 * A small fake relay for unit tests (the real one is the emulator's broker): TLS on 127.0.0.1,
 * listen / connect / accept / reject as in relay-protocol.md §2-§3, scripted failures, and a
 * record of what the clients sent. Hosts `*.fake.test` are routed to it by the transport.
 */
export interface FakeRelay {
  transport: RelayTransport
  host: string
  port: number
  /** Control channels open now. */
  listeners: Array<{ws: WebSocket; id: string; headers: IncomingMessage['headers']}>
  /** Text messages received on control channels. */
  controlMessages: string[]
  /** Upgrade requests seen (action, path, headers). */
  requests: Array<{action?: string; path: string; headers: IncomingMessage['headers']; url: string}>
  /** Answer the next `listen` upgrades with this status line instead. */
  failListen?: {status: number; reason: string}
  /** Answer `connect` upgrades with this status line instead. */
  failConnect?: {status: number; reason: string}
  /** userMetadata served by the management GET (404 feed when undefined). */
  userMetadata?: string
  /** Authorization headers seen by the management GET. */
  managementAuth: string[]
  /** Send this raw text to every control channel. */
  broadcast(text: string): void
  dropListeners(): void
  close(): Promise<void>
}

export async function startFakeRelay(): Promise<FakeRelay> {
  const ca = await createCertificateAuthority('fake relay CA')
  const cert = await createServerCertificate(ca, {dnsNames: ['*.fake.test', 'localhost'], ipAddresses: ['127.0.0.1']})
  const server: Server = createServer({cert: cert.cert, key: cert.key})
  const wss = new WebSocketServer({noServer: true, perMessageDeflate: false})
  const pending = new Map<string, {socket: Duplex; head: Buffer; req: IncomingMessage}>()
  const relay: FakeRelay = {
    transport: {},
    host: 'ns.fake.test',
    port: 0,
    listeners: [],
    controlMessages: [],
    requests: [],
    managementAuth: [],
    broadcast(text) {
      for (const l of relay.listeners) l.ws.send(text)
    },
    dropListeners() {
      for (const l of relay.listeners) l.ws.terminate()
    },
    async close() {
      for (const c of wss.clients) c.terminate()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
  const refuse = (socket: Duplex, status: number, reason: string) => {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  }
  server.on('request', (req, res) => {
    relay.managementAuth.push(String(req.headers.authorization ?? ''))
    if (req.headers['x-process-at'] !== 'ServiceBus' || !/api-version=2016-07/.test(req.url ?? '')) return void res.writeHead(400).end()
    if (!req.headers.authorization) return void res.writeHead(401, 'Unauthorized').end()
    if (relay.userMetadata === undefined) return void res.writeHead(200, {'Content-Type': 'application/atom+xml;type=feed;charset=utf-8'}).end('<feed xmlns="http://www.w3.org/2005/Atom"></feed>')
    const um = relay.userMetadata.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
    res.writeHead(200, {'Content-Type': 'application/atom+xml;type=entry;charset=utf-8'}).end(`<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><HybridConnectionDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"><CreatedAt>2025-01-01T00:00:00Z</CreatedAt><UpdatedAt>2025-01-01T00:00:00Z</UpdatedAt><RequiresClientAuthorization>true</RequiresClientAuthorization><UserMetadata>${um}</UserMetadata><ListenerCount>${relay.listeners.length}</ListenerCount></HybridConnectionDescription></content></entry>`)
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    const t = parseRelayTarget(req.url ?? '/')
    relay.requests.push({action: t.action, path: t.path, headers: req.headers, url: req.url ?? ''})
    if (t.action === 'listen') {
      if (relay.failListen) return refuse(socket, relay.failListen.status, relay.failListen.reason)
      if (!req.headers.servicebusauthorization) return refuse(socket, 401, 'TokenMissingOrInvalid')
      wss.handleUpgrade(req, socket, head, (ws) => {
        const entry = {ws, id: t.id ?? '', headers: req.headers}
        relay.listeners.push(entry)
        ws.on('message', (d: Buffer, bin: boolean) => {
          if (!bin) relay.controlMessages.push(d.toString())
        })
        ws.on('close', () => relay.listeners.splice(relay.listeners.indexOf(entry), 1))
      })
    } else if (t.action === 'connect') {
      if (relay.failConnect) return refuse(socket, relay.failConnect.status, relay.failConnect.reason)
      const listener = relay.listeners[Math.floor(Math.random() * relay.listeners.length)]
      if (!listener) return refuse(socket, 404, 'There are no listeners connected for the endpoint. TrackingId:x, SystemTracker:sb://ns.fake.test/hc, Timestamp:now')
      const id = randomUUID()
      pending.set(id, {socket, head, req})
      const connectHeaders: Record<string, string> = {}
      for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() !== 'servicebusauthorization') connectHeaders[req.rawHeaders[i]!] = req.rawHeaders[i + 1]!
      listener.ws.send(JSON.stringify({accept: {address: `wss://127.0.0.1:${relay.port}/$hc/${t.rawPath}?sb-hc-action=accept&sb-hc-id=${id}`, id, connectHeaders, remoteEndpoint: {address: '127.0.0.1', port: 1}}}))
    } else if (t.action === 'accept') {
      const p = pending.get(t.id ?? '')
      if (!p) return refuse(socket, 403, 'URL not valid')
      pending.delete(t.id!)
      if (t.reject) {
        refuse(p.socket, t.reject.statusCode ?? 400, t.reject.statusDescription ?? 'Rejected')
        return refuse(socket, 410, 'Gone')
      }
      wss.handleUpgrade(req, socket, head, (lws) => {
        wss.handleUpgrade(p.req, p.socket, p.head, (sws) => {
          const pipe = (a: WebSocket, b: WebSocket) => {
            a.on('message', (d: Buffer, bin: boolean) => b.readyState === 1 && b.send(d, {binary: bin}))
            a.on('close', (code: number) => b.readyState <= 1 && b.close(code === 1005 || code === 1006 ? 1000 : code))
          }
          pipe(lws, sws)
          pipe(sws, lws)
        })
      })
    } else {
      refuse(socket, 400, 'Bad action')
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  relay.port = (server.address() as AddressInfo).port
  relay.transport = {ca: ca.cert, relayAddress: {host: '127.0.0.1', port: relay.port}, relaySuffix: '.fake.test'}
  return relay
}
