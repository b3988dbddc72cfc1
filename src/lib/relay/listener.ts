import {randomUUID} from 'node:crypto'
import {EventEmitter} from 'node:events'

import type {WebSocket} from 'ws'

import {safeUrl} from './addresses.js'
import type {HybridConnectionCredentials} from './credentials.js'
import {errorForNetwork, errorForUpgrade, RelayError} from './errors.js'
import {type AcceptCommand, buildListenUrl, buildRejectUrl, formatRenewToken, parseServiceMessage, SERVICE_BUS_AUTHORIZATION} from './protocol.js'
import {openRawWebSocket, type RawWebSocket, UpgradeRefusedError} from './raw-websocket.js'
import {relayStream, type RelayStream} from './stream.js'
import {type RelayTransport, wsClientOptions} from './transport.js'
import type {TunnelOptions} from './tunnel.js'

/**
 * The listener side of a hybrid connection (relay-protocol.md §2): a control channel that
 * receives `accept` commands, renews its token well before expiry, pings to keep NATs and load
 * balancers from dropping it, and reconnects with capped exponential backoff and jitter. It
 * stops for good on 404 (no such hybrid connection) and 401/403 (the token lacks Listen),
 * emitting 'fatal' with a RelayError; everything else is retried.
 *
 * Events: 'listening' (), 'disconnected' (error: Error), 'reconnecting' (delayMs: number),
 * 'fatal' (error: RelayError), 'accept' (request: AcceptRequest), 'warning' (message: string),
 * 'unknown' (command name: string).
 */
export interface ListenerOptions {
  credentials: HybridConnectionCredentials
  transport?: RelayTransport
  /** Lifetime of the tokens we sign, seconds (default 3600). Renewed at half-life. */
  tokenTtlSeconds?: number
  /** WebSocket ping interval on the control channel (default 30 s); a missed pong reconnects. */
  pingIntervalMs?: number
  /** Reconnect backoff: first delay and cap (defaults 250 ms and 30 s), full jitter on top. */
  backoffMinMs?: number
  backoffMaxMs?: number
  /** How long to wait for the rendezvous handshake on accept (default 20 s, as .NET). */
  acceptTimeoutMs?: number
  /** Listener tracking id (sb-hc-id); a UUID by default. */
  id?: string
  /** Random source in [0,1), for tests. */
  random?: () => number
}

export interface AcceptRequest {
  /** Connection id (the sender's sb-hc-id, maybe with relay suffixes). */
  id: string
  /** The rendezvous address (a capability: not for logs; see `safeUrl`). */
  address: string
  connectHeaders: Record<string, string>
  remoteEndpoint?: {address: string; port: number}
  /** Completes the rendezvous: the returned WebSocket is the sender's stream. */
  accept(): Promise<WebSocket>
  /** Accepts and resolves with the upgraded socket, for a tunnel that frames it itself (tunnel.ts). */
  acceptRaw(): Promise<RawWebSocket>
  /** Accepts and resolves with the sender's stream, which half-closes as TCP does (stream.ts). */
  acceptStream(options?: Pick<TunnelOptions, 'closeTimeoutMs'>): Promise<RelayStream>
  /** Refuses the sender: it sees `status` and `description` as its upgrade's status line. */
  reject(status: number, description: string): Promise<void>
}

export interface ListenerState {
  listening: boolean
  /** When the current state began. */
  since: Date
  lastError?: string
  reconnects: number
  fatal?: boolean
}

const OPEN = 1

export class RelayListener extends EventEmitter {
  private readonly creds: HybridConnectionCredentials
  private readonly transport: RelayTransport
  private readonly ttl: number
  private readonly pingIntervalMs: number
  private readonly backoffMinMs: number
  private readonly backoffMaxMs: number
  private readonly acceptTimeoutMs: number
  private readonly random: () => number
  readonly id: string
  private ws?: WebSocket
  private stopped = false
  private attempt = 0
  private retryTimer?: NodeJS.Timeout
  private renewTimer?: NodeJS.Timeout
  private pingTimer?: NodeJS.Timeout
  private awaitingPong = false
  private stateValue: ListenerState = {listening: false, since: new Date(), reconnects: 0}

  constructor(options: ListenerOptions) {
    super()
    this.creds = options.credentials
    this.transport = options.transport ?? {}
    this.ttl = Math.max(2, options.tokenTtlSeconds ?? 3600)
    this.pingIntervalMs = options.pingIntervalMs ?? 30_000
    this.backoffMinMs = options.backoffMinMs ?? 250
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000
    this.acceptTimeoutMs = options.acceptTimeoutMs ?? 20_000
    this.random = options.random ?? Math.random
    this.id = options.id ?? randomUUID()
  }

  get entity(): string {
    return this.creds.entity
  }

  get host(): string {
    return this.creds.host
  }

  state(): ListenerState {
    return {...this.stateValue}
  }

  /** Starts listening (and keeps at it). Resolves once the first control channel is open; rejects on a fatal error. */
  start(): Promise<void> {
    this.stopped = false
    const ready = new Promise<void>((resolve, reject) => {
      const onListening = () => {
        this.off('fatal', onFatal)
        resolve()
      }
      const onFatal = (e: Error) => {
        this.off('listening', onListening)
        reject(e)
      }
      this.once('listening', onListening)
      this.once('fatal', onFatal)
    })
    void this.connect()
    return ready
  }

  /** Closes the control channel (no more accepts) and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true
    this.clearTimers()
    const ws = this.ws
    this.ws = undefined
    this.setState({listening: false})
    if (!ws || ws.readyState >= 2) return
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        ws.terminate()
        resolve()
      }, 2000)
      ws.once('close', () => {
        clearTimeout(t)
        resolve()
      })
      if (ws.readyState === OPEN) ws.close(1000, 'Listener stopped')
      else ws.terminate()
    })
  }

  private setState(patch: Partial<ListenerState>) {
    const changed = patch.listening !== undefined && patch.listening !== this.stateValue.listening
    this.stateValue = {...this.stateValue, ...patch, ...(changed ? {since: new Date()} : {})}
  }

  private clearTimers() {
    clearTimeout(this.retryTimer)
    clearTimeout(this.renewTimer)
    clearInterval(this.pingTimer)
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    const {WebSocket} = await import('ws')
    if (this.stopped) return
    const url = buildListenUrl(this.creds.host, this.creds.entity, {id: this.id})
    let token: string
    try {
      token = this.creds.token(this.ttl)
    } catch (error) {
      this.fail(error as Error)
      return
    }
    if (this.creds.fixedTokenExpiry !== undefined && this.creds.fixedTokenExpiry * 1000 <= Date.now()) {
      this.fail(new RelayError('RelayUnauthorized', `The SAS token for hybrid connection "${this.creds.entity}" expired at ${new Date(this.creds.fixedTokenExpiry * 1000).toISOString()}; the listener cannot renew a fixed token.`, {suggestions: ['Use a connection string with SharedAccessKeyName and SharedAccessKey (Listen right), so the agent signs and renews its own tokens.']}))
      return
    }
    const ws = new WebSocket(url, {
      headers: {[SERVICE_BUS_AUTHORIZATION]: token},
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
      ...wsClientOptions(this.transport, url),
    })
    this.ws = ws
    let opened = false
    ws.on('unexpected-response', (_req, res) => {
      res.resume()
      const error = errorForUpgrade(res.statusCode ?? 0, res.statusMessage ?? '', {role: 'listener', entity: this.creds.entity, host: this.creds.host})
      ws.removeAllListeners()
      ws.on('error', () => {})
      ws.terminate()
      if (this.ws === ws) this.ws = undefined
      if (error.code === 'HybridConnectionNotFound' || error.code === 'RelayUnauthorized') this.fail(error)
      else this.retry(error)
    })
    ws.on('open', () => {
      opened = true
      this.attempt = 0
      this.setState({listening: true, lastError: undefined})
      this.scheduleRenew()
      this.startPing(ws)
      this.emit('listening')
    })
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return
      this.onCommand(data.toString('utf8'))
    })
    ws.on('pong', () => {
      this.awaitingPong = false
    })
    ws.on('error', (error: NodeJS.ErrnoException) => {
      if (!opened) {
        ws.removeAllListeners()
        ws.on('error', () => {})
        if (this.ws === ws) this.ws = undefined
        this.retry(errorForNetwork(error, this.creds.host))
      }
      // after open, 'close' follows and reconnects
    })
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws === ws) this.ws = undefined
      clearTimeout(this.renewTimer)
      clearInterval(this.pingTimer)
      if (this.stopped) return
      const text = reason.toString('utf8')
      this.retry(new RelayError('RelayError', `The relay closed the control channel of "${this.creds.entity}" (${code}${text ? ` ${text}` : ''}).`, {status: code, reason: text}))
    })
  }

  private onCommand(text: string) {
    let parsed
    try {
      parsed = parseServiceMessage(text)
    } catch (error) {
      this.emit('warning', `ignored a malformed control message: ${(error as Error).message}`)
      return
    }
    if (parsed.type === 'accept') this.emit('accept', this.acceptRequest(parsed.accept))
    else if (parsed.type === 'unknown') this.emit('unknown', parsed.name)
    else this.emit('unknown', parsed.type)
  }

  private acceptRequest(cmd: AcceptCommand): AcceptRequest {
    return {
      id: cmd.id,
      address: cmd.address,
      connectHeaders: cmd.connectHeaders,
      remoteEndpoint: cmd.remoteEndpoint,
      accept: () => this.rendezvous(cmd),
      acceptRaw: () => this.rendezvousRaw(cmd),
      acceptStream: async (options = {}) => relayStream(await this.rendezvousRaw(cmd), options),
      reject: (status, description) => this.reject(cmd, status, description),
    }
  }

  private async rendezvous(cmd: AcceptCommand): Promise<WebSocket> {
    const {WebSocket} = await import('ws')
    const offered = headerValue(cmd.connectHeaders, 'sec-websocket-protocol')
    const protocol = offered?.split(',')[0]?.trim()
    return new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(cmd.address, protocol ? [protocol] : [], {
        perMessageDeflate: false,
        handshakeTimeout: this.acceptTimeoutMs,
        ...wsClientOptions(this.transport, cmd.address),
      })
      const fail = (e: Error) => {
        ws.removeAllListeners()
        ws.on('error', () => {})
        ws.terminate()
        reject(e)
      }
      ws.once('unexpected-response', (_req, res) => {
        res.resume()
        fail(new RelayError('RelayError', `The relay refused the rendezvous for connection ${cmd.id} (HTTP ${res.statusCode} ${res.statusMessage ?? ''}).`, {status: res.statusCode, reason: res.statusMessage}))
      })
      ws.once('error', (e: NodeJS.ErrnoException) => fail(errorForNetwork(e, safeUrl(cmd.address))))
      ws.once('open', () => {
        ws.removeAllListeners('error')
        ws.removeAllListeners('unexpected-response')
        resolve(ws)
      })
    })
  }

  private async rendezvousRaw(cmd: AcceptCommand): Promise<RawWebSocket> {
    const offered = headerValue(cmd.connectHeaders, 'sec-websocket-protocol')
    const protocol = offered?.split(',')[0]?.trim()
    try {
      return await openRawWebSocket(cmd.address, {protocols: protocol ? [protocol] : [], timeoutMs: this.acceptTimeoutMs, transport: this.transport})
    } catch (error) {
      if (error instanceof UpgradeRefusedError) {
        throw new RelayError('RelayError', `The relay refused the rendezvous for connection ${cmd.id} (HTTP ${error.status} ${error.statusMessage}).`, {status: error.status, reason: error.statusMessage})
      }
      throw errorForNetwork(error as NodeJS.ErrnoException, safeUrl(cmd.address))
    }
  }

  private async reject(cmd: AcceptCommand, status: number, description: string): Promise<void> {
    const {WebSocket} = await import('ws')
    const url = buildRejectUrl(cmd.address, status, description.slice(0, 512))
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, {perMessageDeflate: false, handshakeTimeout: this.acceptTimeoutMs, ...wsClientOptions(this.transport, url)})
      const done = (e?: Error) => {
        ws.removeAllListeners()
        ws.on('error', () => {})
        ws.terminate()
        if (e) reject(e)
        else resolve()
      }
      ws.once('unexpected-response', (_req, res) => {
        res.resume()
        // The relay answers a rejection with 410 Gone: that is success.
        if (res.statusCode === 410) done()
        else done(new RelayError('RelayError', `The relay did not take the rejection of connection ${cmd.id} (HTTP ${res.statusCode} ${res.statusMessage ?? ''}).`, {status: res.statusCode}))
      })
      ws.once('open', () => done())
      ws.once('error', (e: NodeJS.ErrnoException) => done(errorForNetwork(e, safeUrl(cmd.address))))
    })
  }

  private scheduleRenew() {
    clearTimeout(this.renewTimer)
    if (this.creds.fixedTokenExpiry !== undefined) {
      const left = this.creds.fixedTokenExpiry * 1000 - Date.now()
      if (left < 24 * 3600_000) this.emit('warning', `the fixed SAS token of "${this.creds.entity}" expires at ${new Date(this.creds.fixedTokenExpiry * 1000).toISOString()} and cannot be renewed`)
      return
    }
    // Renew at half-life: well before expiry, whatever the lifetime.
    this.renewTimer = setTimeout(() => this.renew(), Math.max(500, (this.ttl * 1000) / 2))
    this.renewTimer.unref?.()
  }

  private renew() {
    const ws = this.ws
    if (!ws || ws.readyState !== OPEN) return
    try {
      ws.send(formatRenewToken(this.creds.token(this.ttl)))
      this.emit('renewed')
    } catch (error) {
      this.emit('warning', `token renewal failed: ${(error as Error).message}`)
    }
    this.scheduleRenew()
  }

  private startPing(ws: WebSocket) {
    clearInterval(this.pingTimer)
    this.awaitingPong = false
    if (this.pingIntervalMs <= 0) return
    this.pingTimer = setInterval(() => {
      if (ws.readyState !== OPEN) return
      if (this.awaitingPong) {
        // No pong for a whole interval: the channel is dead even if TCP has not noticed.
        ws.terminate()
        return
      }
      this.awaitingPong = true
      ws.ping()
    }, this.pingIntervalMs)
    this.pingTimer.unref?.()
  }

  private retry(error: Error) {
    if (this.stopped) return
    this.setState({listening: false, lastError: error.message})
    this.emit('disconnected', error)
    const n = this.attempt++
    const cap = Math.min(this.backoffMaxMs, this.backoffMinMs * 2 ** n)
    // "Equal jitter": at least half the step, so retries never bunch at zero.
    const delay = Math.round(cap / 2 + (this.random() * cap) / 2)
    this.stateValue.reconnects++
    this.emit('reconnecting', delay)
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => void this.connect(), delay)
  }

  private fail(error: Error) {
    this.stopped = true
    this.clearTimers()
    this.setState({listening: false, lastError: error.message, fatal: true})
    this.emit('fatal', error)
  }
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v
  return undefined
}
