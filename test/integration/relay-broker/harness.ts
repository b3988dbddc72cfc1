import {once} from 'node:events'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import type {Duplex} from 'node:stream'
import type {TLSSocket} from 'node:tls'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import WebSocket from 'ws'

import type {RelayBroker, RelayBrokerOptions, RelayDirectory, RelayEntity, SasRule} from '../../../src/emulator/contracts.js'
import {createRelayBroker} from '../../../src/emulator/relay/broker.js'
import {createSasToken} from '../../../src/lib/relay/sas.js'
import {createCertificateAuthority, createServerCertificate} from '../../../src/emulator/certs.js'

/**
 * A relay broker behind its own HTTPS server on 127.0.0.1:0, with an in-memory directory:
 * the same wiring the emulator's main server does, minus ARM.
 */

export const SUFFIX = '.servicebus.localhost'

export const KEYS = {
  listen: 'bGlzdGVuLWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDAwMDA=',
  send: 'c2VuZC1rZXktZm9yLXRlc3RzLW9ubHktMDAwMDAwMDAwMDA=',
  root: 'cm9vdC1tYW5hZ2Uta2V5LWZvci10ZXN0cy1vbmx5LTAwMDA=',
  secondary: 'c2Vjb25kYXJ5LWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDA=',
  other: 'b3RoZXItZW50aXR5LWtleS1mb3ItdGVzdHMtb25seS0wMDA=',
}

export function rules(): {hc: SasRule[]; ns: SasRule[]} {
  return {
    hc: [
      {name: 'defaultListener', rights: ['Listen'], primaryKey: KEYS.listen, secondaryKey: KEYS.secondary},
      {name: 'defaultSender', rights: ['Send'], primaryKey: KEYS.send, secondaryKey: KEYS.secondary},
    ],
    ns: [{name: 'RootManageSharedAccessKey', rights: ['Listen', 'Send', 'Manage'], primaryKey: KEYS.root, secondaryKey: KEYS.secondary}],
  }
}

export function entity(namespace: string, name: string, extra: Partial<RelayEntity> = {}): RelayEntity {
  const r = rules()
  return {
    namespace,
    name,
    requiresClientAuthorization: true,
    userMetadata: '[{"key":"endpoint","value":"db.internal:5432"}]',
    createdAt: '2026-01-02T03:04:05.678Z',
    updatedAt: '2026-01-03T03:04:05.678Z',
    rules: r.hc,
    namespaceRules: r.ns,
    ...extra,
  }
}

/** The RelayDirectory contract over a plain array (longest whole-segment match, case-insensitive). */
export class FakeDirectory implements RelayDirectory {
  constructor(public entities: RelayEntity[]) {}

  namespaces(): string[] {
    return [...new Set(this.entities.map((e) => e.namespace))]
  }

  resolve(namespace: string | undefined, path: string): {entity: RelayEntity; suffix: string} | undefined {
    const segments = path.split('/').filter(Boolean)
    const matches: {entity: RelayEntity; suffix: string; length: number}[] = []
    for (const e of this.entities) {
      if (namespace !== undefined && e.namespace.toLowerCase() !== namespace.toLowerCase()) continue
      const nameSegments = e.name.toLowerCase().split('/')
      if (nameSegments.length > segments.length) continue
      if (nameSegments.every((s, i) => s === segments[i]!.toLowerCase())) {
        matches.push({entity: e, suffix: segments.slice(nameSegments.length).join('/'), length: nameSegments.length})
      }
    }
    if (matches.length === 0) return undefined
    const best = Math.max(...matches.map((m) => m.length))
    const top = matches.filter((m) => m.length === best)
    if (top.length > 1) return undefined // ambiguous across namespaces
    return {entity: top[0]!.entity, suffix: top[0]!.suffix}
  }
}

interface Tls {
  ca: string
  caFile: string
  cert: string
  key: string
}

let tlsPromise: Promise<Tls> | undefined

/** One CA and server certificate per test process (ECDSA: milliseconds). */
export function tls(): Promise<Tls> {
  tlsPromise ??= (async () => {
    const ca = await createCertificateAuthority('hcctl relay-broker tests')
    const server = await createServerCertificate(ca, {dnsNames: ['localhost', `*${SUFFIX}`], ipAddresses: ['127.0.0.1']})
    const dir = mkdtempSync(join(tmpdir(), 'hcctl-relay-'))
    const caFile = join(dir, 'ca.pem')
    writeFileSync(caFile, ca.cert)
    return {ca: ca.cert, caFile, cert: server.cert, key: server.key}
  })()
  return tlsPromise
}

export interface Harness {
  port: number
  ca: string
  caFile: string
  broker: RelayBroker
  directory: FakeDirectory
  server: Server
  logs: string[]
  /** The server side of the TLS connection whose client uses local port `port` (to read bytesRead). */
  serverSocket(clientPort: number): TLSSocket | undefined
  /** `wss://127.0.0.1:PORT/$hc/{path}` plus query */
  wss(path: string, query?: Record<string, string>): string
  /** `https://127.0.0.1:PORT/{path}` */
  https(path: string): string
  /** A token for `http://127.0.0.1:PORT/{path}` (the hyco helpers' audience form). */
  token(path: string, rule?: 'defaultListener' | 'defaultSender' | 'RootManageSharedAccessKey', options?: {ttlSeconds?: number; now?: () => number; key?: string}): string
  close(): Promise<void>
}

export function defaultEntities(): RelayEntity[] {
  return [
    entity('contoso', 'hc1'),
    entity('contoso', 'anon', {requiresClientAuthorization: false}),
    entity('contoso', 'apps'),
    entity('contoso', 'apps/deep/one'),
    entity('contoso', 'shared'),
    entity('fabrikam', 'shared', {
      rules: [{name: 'defaultListener', rights: ['Listen'], primaryKey: KEYS.other, secondaryKey: KEYS.other}],
    }),
    entity('contoso', 'other', {
      rules: [
        {name: 'defaultListener', rights: ['Listen'], primaryKey: KEYS.other, secondaryKey: KEYS.other},
        {name: 'defaultSender', rights: ['Send'], primaryKey: KEYS.other, secondaryKey: KEYS.other},
      ],
    }),
  ]
}

const KEY_OF: Record<string, string> = {defaultListener: KEYS.listen, defaultSender: KEYS.send, RootManageSharedAccessKey: KEYS.root}

export async function startRelay(options: Partial<RelayBrokerOptions> & {entities?: RelayEntity[]} = {}): Promise<Harness> {
  const {ca, caFile, cert, key} = await tls()
  const directory = new FakeDirectory(options.entities ?? defaultEntities())
  const logs: string[] = []
  let port = 0
  const broker = createRelayBroker({
    directory,
    relaySuffix: SUFFIX,
    rendezvousBase: () => `wss://127.0.0.1:${port}`,
    log: (line) => logs.push(line),
    ...options,
  })
  const server = createServer({cert, key})
  server.on('upgrade', (req, socket, head) => {
    if (broker.isRelayRequest(req)) broker.handleUpgrade(req, socket, head)
    else socket.destroy()
  })
  server.on('request', (req, res) => {
    if (broker.isRelayRequest(req) || req.url !== '/') broker.handleRequest(req, res)
    else res.writeHead(404).end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  port = (server.address() as AddressInfo).port
  const sockets = new Set<Duplex>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  const byPort = new Map<number, TLSSocket>()
  server.on('secureConnection', (s: TLSSocket) => {
    if (s.remotePort !== undefined) byPort.set(s.remotePort, s)
    s.once('close', () => byPort.delete(s.remotePort!))
  })
  return {
    port,
    ca,
    caFile,
    broker,
    directory,
    server,
    logs,
    serverSocket: (clientPort) => byPort.get(clientPort),
    wss(path, query = {}) {
      const url = new URL(`wss://127.0.0.1:${port}/$hc/${path}`)
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
      return url.toString()
    },
    https(path) {
      return `https://127.0.0.1:${port}/${path}`
    },
    token(path, rule = 'RootManageSharedAccessKey', opts = {}) {
      return createSasToken({
        resourceUri: `http://127.0.0.1:${port}/${path}`,
        keyName: rule,
        key: opts.key ?? KEY_OF[rule]!,
        ttlSeconds: opts.ttlSeconds ?? 3600,
        now: opts.now,
      })
    },
    async close() {
      await broker.close()
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

// -------------------------------------------------------------------------------------------
// Client helpers (plain ws 8, i.e. our own raw protocol peers)

export interface Refusal {
  status: number
  reason: string
  headers: Record<string, string | string[] | undefined>
}

/** Opens a WebSocket; resolves when open, rejects with a Refusal on a non-101 answer. */
export function open(url: string, ca: string, options: {headers?: Record<string, string>; protocols?: string[]} = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], {ca, headers: options.headers})
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`refused ${res.statusCode} ${res.statusMessage}`), {status: res.statusCode!, reason: res.statusMessage ?? '', headers: res.headers}))
      res.resume()
      ws.terminate()
    })
    ws.once('error', reject)
  })
}

/** Expects a refusal and returns it. */
export async function refused(url: string, ca: string, options: {headers?: Record<string, string>} = {}): Promise<Refusal> {
  try {
    const ws = await open(url, ca, options)
    ws.terminate()
  } catch (error) {
    if (typeof (error as Refusal).status === 'number') return error as Refusal & Error
    throw error
  }
  throw new Error(`expected ${url} to be refused, it was accepted`)
}

/** Buffers every message of a socket so tests can await them one by one. */
export class Inbox {
  private readonly queue: {data: Buffer; isBinary: boolean}[] = []
  private readonly waiters: ((m: {data: Buffer; isBinary: boolean}) => void)[] = []
  constructor(ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      const m = {data, isBinary}
      const w = this.waiters.shift()
      if (w) w(m)
      else this.queue.push(m)
    })
  }

  get size(): number {
    return this.queue.length
  }

  next(timeoutMs = 5000): Promise<{data: Buffer; isBinary: boolean}> {
    const m = this.queue.shift()
    if (m) return Promise.resolve(m)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within timeout')), timeoutMs)
      this.waiters.push((x) => {
        clearTimeout(timer)
        resolve(x)
      })
    })
  }

  async json<T = Record<string, unknown>>(timeoutMs?: number): Promise<T> {
    const m = await this.next(timeoutMs)
    if (m.isBinary) throw new Error('expected a text message')
    return JSON.parse(m.data.toString('utf8')) as T
  }
}

/** A listener control channel with an inbox. */
export async function listen(h: Harness, hc = 'hc1', rule: 'defaultListener' | 'RootManageSharedAccessKey' = 'defaultListener', id?: string): Promise<{ws: WebSocket; inbox: Inbox}> {
  const ws = await open(h.wss(hc, {'sb-hc-action': 'listen', ...(id ? {'sb-hc-id': id} : {})}), h.ca, {headers: {ServiceBusAuthorization: h.token(hc, rule)}})
  ws.on('error', () => {})
  return {ws, inbox: new Inbox(ws)}
}

export function closed(ws: WebSocket): Promise<{code: number; reason: string}> {
  if (ws.readyState === ws.CLOSED) return Promise.reject(new Error('already closed'))
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({code, reason: reason.toString('utf8')})))
}
