import type {Server} from 'node:http'
import {connect as netConnect, type Socket} from 'node:net'
import {hostname as osHostname} from 'node:os'

import {ExitCode, HcctlError} from '../errors.js'
import type {HybridConnectionCredentials} from './credentials.js'
import {DEFAULT_ENDPOINT_REFRESH_MS, formatEndpoint, type Endpoint} from './endpoint.js'
import {readEndpoint} from './management.js'
import {type AcceptRequest, RelayListener, type ListenerOptions} from './listener.js'
import {record, type RelayLogSink} from './log.js'
import {renderAgentMetrics} from './agent-metrics.js'
import {closeHealthServer, serveHealth} from './health-server.js'
import type {RelayTransport} from './transport.js'
import {pipeTunnel, type Tunnel} from './tunnel.js'

/**
 * `hcctl agent`: a cross-platform Hybrid Connection Manager. For each hybrid connection it keeps
 * a listener on the relay and, for each sender, connects TCP to the hybrid connection's own
 * endpoint first (never to an address a sender asks for) and only then accepts; when the
 * endpoint cannot be reached it rejects with 502 and the reason, which the sender sees.
 */
/** How long stop() waits for tunnels it cut after the drain timeout before it returns anyway. */
const CUT_TUNNEL_GRACE_MS = 6_000

export interface AgentHybridConnection {
  credentials: HybridConnectionCredentials
  /** Known endpoint (from ARM); else read from the hybrid connection's metadata with the management GET. */
  endpoint?: Endpoint
}

export interface AgentOptions {
  hybridConnections: AgentHybridConnection[]
  transport?: RelayTransport
  /** Serve /healthz and /metrics here. */
  health?: {host: string; port: number}
  log?: RelayLogSink
  /** TCP connect timeout to the endpoint (default 10 s). */
  connectTimeoutMs?: number
  /** Close tunnels idle this long (default: never). */
  idleTimeoutMs?: number
  /** A half-closed tunnel (one side sent FIN/Close) silent this long is cut (default 30 s; tunnel.ts). */
  closeTimeoutMs?: number
  /** On stop, let active tunnels finish this long (default 30 s). */
  drainTimeoutMs?: number
  /** Lifetime of the SAS tokens the listeners sign (default 3600 s). */
  tokenTtlSeconds?: number
  /**
   * Read each hybrid connection's endpoint metadata again this often (default 60 s; 0 = never),
   * and whenever its listener reconnects, so an `hcctl endpoint set` reaches a running agent.
   */
  endpointRefreshMs?: number
  /** Named in rejection reasons (default os.hostname()). */
  hostname?: string
  /** Listener tuning (ping, backoff), for tests. */
  listener?: Partial<Pick<ListenerOptions, 'pingIntervalMs' | 'backoffMinMs' | 'backoffMaxMs'>>
}

export interface HybridConnectionHealth {
  hc: string
  endpoint: string
  listening: boolean
  since: string
  lastError?: string
  fatal?: boolean
  activeTunnels: number
}

export interface AgentHealth {
  status: 'ok' | 'degraded' | 'down'
  draining: boolean
  hybridConnections: HybridConnectionHealth[]
}

export interface AgentSummary {
  hybridConnections: Array<{hc: string; endpoint: string; accepts: number; rejects: number; reconnects: number; bytesToEndpoint: number; bytesFromEndpoint: number}>
  /** Tunnels still open when the drain timeout ran out (they were closed). */
  cutTunnels: number
  drainMs: number
}

export interface HcRuntime {
  label: string
  creds: HybridConnectionCredentials
  endpoint: Endpoint
  listener: RelayListener
  active: Set<Tunnel>
  pending: number
  accepts: number
  rejects: number
  tunnelsOk: number
  tunnelsFailed: number
  bytesToEndpoint: number
  bytesFromEndpoint: number
}

export class Agent {
  private readonly options: AgentOptions
  private readonly log: RelayLogSink
  private readonly hostname: string
  private hcs: HcRuntime[] = []
  private draining = false
  private healthServer?: Server
  private idle?: () => void
  private refreshTimer?: NodeJS.Timeout
  private readonly refreshAbort = new AbortController()

  constructor(options: AgentOptions) {
    this.options = options
    this.log = options.log ?? (() => {})
    this.hostname = options.hostname ?? osHostname()
  }

  /** Address of the health server, once started. */
  healthAddress(): {host: string; port: number} | undefined {
    const a = this.healthServer?.address()
    return a && typeof a === 'object' ? {host: a.address, port: a.port} : undefined
  }

  /**
   * Resolves endpoints, starts the health server and every listener. Resolves once each
   * listener is listening; rejects on a fatal error (no such hybrid connection, no Listen right)
   * or a bad endpoint, after stopping what was started.
   */
  async start(signal?: AbortSignal): Promise<void> {
    const transport = this.options.transport ?? {}
    const resolved = await Promise.all(
      this.options.hybridConnections.map(async (hc) => ({
        creds: hc.credentials,
        endpoint: hc.endpoint ?? (await readEndpoint(hc.credentials, transport, {signal})),
      })),
    )
    this.hcs = resolved.map(({creds, endpoint}) => {
      const label = `${creds.host.split('.')[0]}/${creds.entity}`
      const listener = new RelayListener({
        credentials: creds,
        transport,
        tokenTtlSeconds: this.options.tokenTtlSeconds,
        ...this.options.listener,
      })
      const rt: HcRuntime = {label, creds, endpoint, listener, active: new Set(), pending: 0, accepts: 0, rejects: 0, tunnelsOk: 0, tunnelsFailed: 0, bytesToEndpoint: 0, bytesFromEndpoint: 0}
      this.wire(rt)
      return rt
    })
    if (this.options.health) await this.startHealth(this.options.health)
    try {
      // A relay that cannot be reached is retried for ever: the signal must still end the wait.
      await abortable(Promise.all(this.hcs.map((h) => h.listener.start())), signal)
    } catch (error) {
      await Promise.all(this.hcs.map((h) => h.listener.stop()))
      await this.closeHealth()
      throw error
    }
    const every = this.options.endpointRefreshMs ?? DEFAULT_ENDPOINT_REFRESH_MS
    if (every > 0) {
      this.refreshTimer = setInterval(() => void Promise.all(this.hcs.map((h) => this.refreshEndpoint(h))), every)
      this.refreshTimer.unref()
    }
  }

  /**
   * Reads the hybrid connection's endpoint metadata again (the runtime management GET, with the
   * listener's own key) and dials the new endpoint from the next sender on. A failed read keeps
   * the endpoint it has and says so.
   */
  async refreshEndpoint(rt: HcRuntime): Promise<void> {
    if (this.draining) return
    const signal = this.refreshAbort.signal
    try {
      const next = await readEndpoint(rt.creds, this.options.transport ?? {}, {signal})
      if (this.draining || formatEndpoint(next).toLowerCase() === formatEndpoint(rt.endpoint).toLowerCase()) return
      this.log(record('info', 'endpoint', {hc: rt.label, from: formatEndpoint(rt.endpoint), to: formatEndpoint(next)}))
      rt.endpoint = next
    } catch (error) {
      if (!signal.aborted) this.log(record('warn', 'warning', {hc: rt.label, msg: `could not read the endpoint again, still using ${formatEndpoint(rt.endpoint)}: ${(error as Error).message}`}))
    }
  }

  private wire(rt: HcRuntime) {
    const {listener, label} = rt
    let connections = 0
    listener.on('listening', () => {
      this.log(record('info', 'listening', {hc: label, endpoint: formatEndpoint(rt.endpoint), listenerId: listener.id}))
      // A reconnect may follow a change of the hybrid connection: read its endpoint again.
      if (connections++ > 0 && (this.options.endpointRefreshMs ?? DEFAULT_ENDPOINT_REFRESH_MS) > 0) void this.refreshEndpoint(rt)
    })
    listener.on('disconnected', (e: Error) => {
      if (!this.draining) this.log(record('warn', 'disconnected', {hc: label, error: e.message}))
    })
    listener.on('reconnecting', (delayMs: number) => this.log(record('info', 'reconnecting', {hc: label, delayMs})))
    listener.on('fatal', (e: Error) => {
      this.log(record('error', 'fatal', {hc: label, error: e.message}))
      this.idle?.()
    })
    listener.on('warning', (m: string) => this.log(record('warn', 'warning', {hc: label, msg: m})))
    listener.on('unknown', (name: string) => this.log(record('warn', 'warning', {hc: label, msg: `ignored an unknown control command "${String(name).slice(0, 40)}"`})))
    listener.on('accept', (req: AcceptRequest) => void this.onAccept(rt, req))
  }

  private async onAccept(rt: HcRuntime, req: AcceptRequest): Promise<void> {
    const opened = new Date()
    const remote = req.remoteEndpoint ? `${req.remoteEndpoint.address}:${req.remoteEndpoint.port}` : undefined
    const base = {hc: rt.label, id: req.id, remote, endpoint: formatEndpoint(rt.endpoint), opened: opened.toISOString()}
    if (this.draining) {
      rt.rejects++
      await req.reject(503, `agent on host ${this.hostname} is shutting down`).catch(() => {})
      this.log(record('warn', 'connection', {...base, result: 'rejected', status: 503, error: 'shutting down'}))
      return
    }
    rt.pending++
    let tcp: Socket
    try {
      tcp = await connectTcp(rt.endpoint, this.options.connectTimeoutMs ?? 10_000)
    } catch (error) {
      rt.pending--
      rt.rejects++
      const e = error as NodeJS.ErrnoException
      const reason = `connect ${e.code ?? 'failed'} ${formatEndpoint(rt.endpoint)} from agent on host ${this.hostname}`
      let rejectError: string | undefined
      await req.reject(502, reason).catch((re: Error) => (rejectError = re.message))
      this.log(record('warn', 'connection', {...base, result: 'rejected', status: 502, error: reason, ...(rejectError ? {rejectError} : {})}))
      this.idle?.()
      return
    }
    let ws
    try {
      ws = await req.acceptRaw()
    } catch (error) {
      rt.pending--
      tcp.destroy()
      rt.tunnelsFailed++
      this.log(record('warn', 'connection', {...base, result: 'error', error: `accept failed: ${(error as Error).message}`}))
      this.idle?.()
      return
    }
    rt.pending--
    rt.accepts++
    tcp.setNoDelay(true)
    const tunnel = pipeTunnel(ws, tcp, {idleTimeoutMs: this.options.idleTimeoutMs, closeTimeoutMs: this.options.closeTimeoutMs})
    rt.active.add(tunnel)
    const s = await tunnel.done
    rt.active.delete(tunnel)
    rt.bytesToEndpoint += s.bytesFromRelay
    rt.bytesFromEndpoint += s.bytesToRelay
    if (s.error) rt.tunnelsFailed++
    else rt.tunnelsOk++
    this.log(
      record(s.error ? 'warn' : 'info', 'connection', {
        ...base,
        result: s.error ? 'error' : 'ok',
        closed: new Date().toISOString(),
        bytesToEndpoint: s.bytesFromRelay,
        bytesFromEndpoint: s.bytesToRelay,
        durationMs: s.durationMs,
        closedBy: s.closedBy,
        ...(s.error ? {error: s.error} : {}),
      }),
    )
    this.idle?.()
  }

  activeTunnels(): number {
    return this.hcs.reduce((n, h) => n + h.active.size + h.pending, 0)
  }

  health(): AgentHealth {
    const list = this.hcs.map((h): HybridConnectionHealth => {
      const s = h.listener.state()
      return {
        hc: h.label,
        endpoint: formatEndpoint(h.endpoint),
        listening: s.listening,
        since: s.since.toISOString(),
        ...(s.lastError ? {lastError: s.lastError} : {}),
        ...(s.fatal ? {fatal: true} : {}),
        activeTunnels: h.active.size,
      }
    })
    const up = list.filter((h) => h.listening).length
    return {status: up === list.length && !this.draining ? 'ok' : up === 0 ? 'down' : 'degraded', draining: this.draining, hybridConnections: list}
  }

  metrics(): string {
    return renderAgentMetrics(this.hcs)
  }

  /** Resolves when every listener has failed for good (the agent has nothing left to do). */
  allFatal(): boolean {
    return this.hcs.length > 0 && this.hcs.every((h) => h.listener.state().fatal)
  }

  /**
   * Stops accepting (closes the control channels; senders that still arrive are rejected 503),
   * lets active tunnels finish for up to the drain timeout, then closes what is left.
   */
  async stop(): Promise<AgentSummary> {
    const started = Date.now()
    this.draining = true
    clearInterval(this.refreshTimer)
    this.refreshAbort.abort()
    this.log(record('info', 'draining', {activeTunnels: this.activeTunnels(), drainTimeoutMs: this.options.drainTimeoutMs ?? 30_000}))
    await Promise.all(this.hcs.map((h) => h.listener.stop()))
    const drainMs = this.options.drainTimeoutMs ?? 30_000
    if (this.activeTunnels() > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs)
        this.idle = () => {
          if (this.activeTunnels() === 0) {
            clearTimeout(timer)
            resolve()
          }
        }
      })
    }
    let cut = 0
    for (const h of this.hcs) {
      for (const t of h.active) {
        cut++
        t.close('Agent stopped')
      }
    }
    if (cut > 0) {
      // A cut tunnel force-closes itself within seconds; still, a peer that vanished mid-handshake
      // must never keep the agent from exiting, so the wait is bounded too.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.all(this.hcs.flatMap((h) => [...h.active].map((t) => t.done))),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, CUT_TUNNEL_GRACE_MS))),
      ])
      clearTimeout(timer)
    }
    await this.closeHealth()
    const summary: AgentSummary = {
      hybridConnections: this.hcs.map((h) => ({
        hc: h.label,
        endpoint: formatEndpoint(h.endpoint),
        accepts: h.accepts,
        rejects: h.rejects,
        reconnects: h.listener.state().reconnects,
        bytesToEndpoint: h.bytesToEndpoint,
        bytesFromEndpoint: h.bytesFromEndpoint,
      })),
      cutTunnels: cut,
      drainMs: Date.now() - started,
    }
    this.log(record('info', 'stopped', {cutTunnels: cut, drainMs: summary.drainMs}))
    return summary
  }

  /** Resolves when every listener has failed for good. */
  whenAllFatal(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.allFatal()) resolve()
      }
      for (const h of this.hcs) h.listener.on('fatal', check)
      check()
    })
  }

  private async startHealth(address: {host: string; port: number}) {
    this.healthServer = await serveHealth(address, {health: () => this.health(), metrics: () => this.metrics()})
    const a = this.healthAddress()
    this.log(record('info', 'health', {address: a ? `${a.host}:${a.port}` : undefined}))
  }

  private async closeHealth() {
    const s = this.healthServer
    this.healthServer = undefined
    if (s) await closeHealthServer(s)
  }
}

/** Resolves with `work`, or as soon as `signal` aborts (the work is left to its owner to stop). */
function abortable(work: Promise<unknown>, signal?: AbortSignal): Promise<void> {
  if (!signal) return work.then(() => undefined)
  if (signal.aborted) return Promise.resolve()
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => resolve()
    signal.addEventListener('abort', onAbort, {once: true})
    work.then(
      () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/** Runs an agent until `signal` aborts (then drains) or every listener failed for good. */
export async function runAgent(options: AgentOptions & {signal: AbortSignal; onReady?: (agent: Agent) => void}): Promise<AgentSummary> {
  const agent = new Agent(options)
  await agent.start(options.signal)
  options.onReady?.(agent)
  let fatal = false
  await Promise.race([
    new Promise<void>((resolve) => {
      if (options.signal.aborted) resolve()
      else options.signal.addEventListener('abort', () => resolve(), {once: true})
    }),
    agent.whenAllFatal().then(() => {
      fatal = true
    }),
  ])
  const summary = await agent.stop()
  if (fatal) {
    const h = agent.health().hybridConnections
    throw new HcctlError(`Every hybrid connection failed for good: ${h.map((x) => `${x.hc}: ${x.lastError ?? 'stopped'}`).join('; ')}`, ExitCode.CheckFailed, {code: 'AgentStopped'})
  }
  return summary
}

/** TCP connect with a timeout; rejects with an errno-style error (code ETIMEDOUT on timeout). */
export function connectTcp(endpoint: Endpoint, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({host: endpoint.host, port: endpoint.port})
    const timer = setTimeout(() => {
      const e = Object.assign(new Error(`connect ETIMEDOUT ${formatEndpoint(endpoint)}`), {code: 'ETIMEDOUT'})
      socket.destroy()
      reject(e)
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.removeAllListeners('error')
      resolve(socket)
    })
    socket.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}
