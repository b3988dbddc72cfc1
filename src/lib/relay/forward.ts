import {randomUUID} from 'node:crypto'
import {createServer, type Server, type Socket} from 'node:net'

import {ConflictError, isHcctlError} from '../errors.js'
import type {HybridConnectionCredentials} from './credentials.js'
import {formatEndpoint, type Endpoint} from './endpoint.js'
import {isRelayError} from './errors.js'
import {record, type RelayLogSink} from './log.js'
import {readEndpoint} from './management.js'
import {openSenderRaw} from './sender.js'
import type {RelayTransport} from './transport.js'
import {pipeTunnel, type Tunnel} from './tunnel.js'

/**
 * `hcctl forward`: a local TCP port that reaches the hybrid connection's endpoint through the
 * relay, as an App Service app would. Each local connection becomes one sender; a relay failure
 * is logged for that connection (the agent's status and reason included) and closes only it.
 */
export interface ForwardOptions {
  credentials: HybridConnectionCredentials
  transport?: RelayTransport
  /** Local address; port undefined = the endpoint's port, or an ephemeral one when that is taken. */
  local: {host: string; port?: number}
  /** The endpoint, if known (ARM); else read through the management GET (best effort). */
  endpoint?: Endpoint
  log?: RelayLogSink
  /** Sender upgrade timeout (default 30 s). */
  connectTimeoutMs?: number
  idleTimeoutMs?: number
  /** A half-closed tunnel (one side sent FIN/Close) silent this long is cut (default 30 s; tunnel.ts). */
  closeTimeoutMs?: number
  tokenTtlSeconds?: number
}

export interface ForwardReady {
  /** host:port actually bound. */
  local: string
  host: string
  port: number
  hc: string
  endpoint?: string
}

export interface ForwardSummary {
  local: string
  hc: string
  connections: number
  failed: number
  bytesSent: number
  bytesReceived: number
}

export class Forwarder {
  private readonly o: ForwardOptions
  private readonly log: RelayLogSink
  private server?: Server
  private readonly active = new Set<Tunnel>()
  private readonly sockets = new Set<Socket>()
  private stats = {connections: 0, failed: 0, bytesSent: 0, bytesReceived: 0}
  private readyInfo?: ForwardReady
  readonly label: string

  constructor(options: ForwardOptions) {
    this.o = options
    this.log = options.log ?? (() => {})
    this.label = `${options.credentials.host.split('.')[0]}/${options.credentials.entity}`
  }

  async start(signal?: AbortSignal): Promise<ForwardReady> {
    let endpoint = this.o.endpoint
    if (!endpoint) {
      // Also a check that the hybrid connection exists: a forwarder to nothing must not run.
      try {
        endpoint = await readEndpoint(this.o.credentials, this.o.transport ?? {}, {signal, timeoutMs: 10_000})
      } catch (error) {
        if (isHcctlError(error) && error.code === 'HybridConnectionNotFound') throw error
        // 401 is the token itself (wrong or rotated key, expired, another entity, unknown rule):
        // no connection could ever be sent with it. (403 is only this read needing Listen.)
        if (isRelayError(error, 'RelayUnauthorized') && error.status === 401) throw error
        if (this.o.local.port === undefined) this.log(record('warn', 'warning', {hc: this.label, msg: `cannot read the endpoint (${(error as Error).message}); using an ephemeral local port`}))
      }
    }
    const server = createServer({pauseOnConnect: true}, (socket) => void this.onConnection(socket))
    const wanted = this.o.local.port ?? endpoint?.port ?? 0
    try {
      await listen(server, this.o.local.host, wanted)
    } catch (error) {
      const e = error as NodeJS.ErrnoException
      if (this.o.local.port !== undefined || wanted === 0) {
        throw new ConflictError(`Cannot listen on ${this.o.local.host}:${wanted}: ${e.code ?? e.message}.`, {
          code: 'LocalAddressInUse',
          suggestions: ['Choose another --local port, or omit the port to get a free one.'],
        })
      }
      this.log(record('info', 'warning', {hc: this.label, msg: `port ${wanted} is taken (${e.code}); using an ephemeral port`}))
      await listen(server, this.o.local.host, 0)
    }
    this.server = server
    const a = server.address()
    const port = a && typeof a === 'object' ? a.port : wanted
    const host = this.o.local.host
    this.readyInfo = {local: `${host.includes(':') ? `[${host}]` : host}:${port}`, host, port, hc: this.label, ...(endpoint ? {endpoint: formatEndpoint(endpoint)} : {})}
    return this.readyInfo
  }

  private async onConnection(socket: Socket) {
    this.stats.connections++
    this.sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => this.sockets.delete(socket))
    const opened = new Date()
    const from = `${socket.remoteAddress}:${socket.remotePort}`
    const id = randomUUID()
    const base = {hc: this.label, id, from, opened: opened.toISOString()}
    // The local client may give up while the relay connects.
    const gone = new AbortController()
    socket.once('close', () => gone.abort())
    let conn
    try {
      conn = await openSenderRaw(this.o.credentials, this.o.transport ?? {}, {id, signal: gone.signal, timeoutMs: this.o.connectTimeoutMs, tokenTtlSeconds: this.o.tokenTtlSeconds})
    } catch (error) {
      this.stats.failed++
      const e = error as Error & {code?: string; status?: number; reason?: string}
      this.log(
        record('warn', 'connection', {
          ...base,
          result: 'failed',
          code: e.code,
          ...(isRelayError(error) && e.status !== undefined ? {status: e.status} : {}),
          ...(isRelayError(error) && e.reason ? {reason: e.reason} : {}),
          error: e.message,
        }),
      )
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    const tunnel = pipeTunnel(conn.ws, socket, {idleTimeoutMs: this.o.idleTimeoutMs, closeTimeoutMs: this.o.closeTimeoutMs})
    socket.resume()
    this.active.add(tunnel)
    const s = await tunnel.done
    this.active.delete(tunnel)
    this.stats.bytesSent += s.bytesToRelay
    this.stats.bytesReceived += s.bytesFromRelay
    if (s.error) this.stats.failed++
    this.log(
      record(s.error ? 'warn' : 'info', 'connection', {
        ...base,
        result: s.error ? 'error' : 'ok',
        closed: new Date().toISOString(),
        bytesSent: s.bytesToRelay,
        bytesReceived: s.bytesFromRelay,
        durationMs: s.durationMs,
        closedBy: s.closedBy,
        ...(s.error ? {error: s.error} : {}),
      }),
    )
  }

  /** Stops listening and closes every tunnel. */
  async stop(): Promise<ForwardSummary> {
    const server = this.server
    this.server = undefined
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve()
    for (const t of this.active) t.close('Forwarder stopped')
    for (const s of this.sockets) if (![...this.active].length) s.destroy()
    await Promise.all([...this.active].map((t) => t.done))
    for (const s of this.sockets) s.destroy()
    await closed
    return {local: this.readyInfo?.local ?? '', hc: this.label, ...this.stats}
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      server.off('listening', onListening)
      reject(e)
    }
    const onListening = () => {
      server.off('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

/** Runs a forwarder until `signal` aborts. */
export async function runForward(options: ForwardOptions & {signal: AbortSignal; onReady?: (ready: ForwardReady) => void}): Promise<ForwardSummary> {
  const f = new Forwarder(options)
  const ready = await f.start(options.signal)
  options.onReady?.(ready)
  await new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve()
    else options.signal.addEventListener('abort', () => resolve(), {once: true})
  })
  return f.stop()
}
