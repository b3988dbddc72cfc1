import {randomBytes} from 'node:crypto'
import type {Agent, IncomingMessage} from 'node:http'
import {request as httpsRequest} from 'node:https'
import type {Socket} from 'node:net'
import {performance} from 'node:perf_hooks'
import {connect as tlsConnect, type PeerCertificate} from 'node:tls'

import {openConnectTunnel} from '../azure/transport.js'
import {withDeadline} from '../deadline.js'
import {round2} from './stats.js'

/**
 * Low-level probes of the relay's front door, used by the network checks and by `relay test`.
 * Each takes where to connect (which may differ from the name, for the emulator's
 * `relayAddress`), the name to present (SNI and Host), and the extra CA of the cloud profile.
 */
export interface RelayTarget {
  /** The namespace host name: SNI and Host header, e.g. contoso.servicebus.windows.net */
  host: string
  /** Where TCP goes (the name itself, or the profile's relayAddress). */
  connectHost: string
  connectPort: number
  /** Extra PEM CA to trust (emulator/custom clouds); replaces the system roots when set. */
  ca?: string
}

export interface TlsFacts {
  timeMs: number
  authorized: boolean
  authorizationError?: string
  protocol?: string
  subject?: string
  issuer?: string
  validTo?: string
  subjectAltNames?: string
}

function dn(name: PeerCertificate['subject'] | undefined): string | undefined {
  if (!name) return undefined
  const parts = Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
  return parts.length > 0 ? parts.join(', ') : undefined
}

/** withDeadline for probes: a timeout says what got no answer (code ETIMEDOUT). */
function abortable<T>(signal: AbortSignal | undefined, timeoutMs: number, what: string, start: (settle: (e?: Error, v?: T) => void) => () => void): Promise<T> {
  return withDeadline<T>({timeoutMs, signal, timeoutError: () => Object.assign(new Error(`${what}: no answer within ${timeoutMs} ms`), {code: 'ETIMEDOUT'})}, start)
}

/** A TLS handshake with SNI = the namespace; returns the peer certificate whether trusted or not. */
export function tlsHandshake(target: RelayTarget, options: {timeoutMs: number; signal?: AbortSignal}): Promise<TlsFacts> {
  const started = performance.now()
  return abortable<TlsFacts>(options.signal, options.timeoutMs, `TLS handshake with ${target.connectHost}:${target.connectPort}`, (settle) => {
    const socket = tlsConnect({
      host: target.connectHost,
      port: target.connectPort,
      servername: target.host,
      ca: target.ca,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    })
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate()
      settle(undefined, {
        timeMs: round2(performance.now() - started),
        authorized: socket.authorized,
        ...(socket.authorizationError ? {authorizationError: String(socket.authorizationError)} : {}),
        protocol: socket.getProtocol() ?? undefined,
        subject: dn(cert?.subject),
        issuer: dn(cert?.issuer),
        validTo: cert?.valid_to,
        subjectAltNames: cert?.subjectaltname,
      })
    })
    socket.once('error', (e) => settle(e))
    return () => socket.destroy()
  })
}

export interface UpgradeFacts {
  timeMs: number
  /** 101 when the upgrade was accepted. */
  status: number
  statusMessage: string
  headers: Record<string, string | string[] | undefined>
}

/**
 * A WebSocket upgrade request (GET with Upgrade: websocket) to `path` on the relay, directly or
 * through `agent` (an HTTPS proxy agent). Resolves with the answer's status (101 or an HTTP
 * error, with the reason phrase); the socket is closed right away either way.
 */
export function websocketUpgrade(
  target: RelayTarget,
  path: string,
  options: {timeoutMs: number; signal?: AbortSignal; agent?: Agent; headers?: Record<string, string>; tunnel?: Socket},
): Promise<UpgradeFacts> {
  const started = performance.now()
  return abortable<UpgradeFacts>(options.signal, options.timeoutMs, `WebSocket upgrade at ${target.host}`, (settle) => {
    const req = httpsRequest({
      host: target.connectHost,
      port: target.connectPort,
      servername: target.host,
      ca: target.ca,
      path,
      method: 'GET',
      agent: options.tunnel ? false : options.agent,
      ...(options.tunnel ? {createConnection: () => tlsConnect({socket: options.tunnel, servername: target.host, ca: target.ca, rejectUnauthorized: true})} : {}),
      headers: {
        Host: target.host,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...options.headers,
      },
    })
    const done = (res: IncomingMessage) =>
      settle(undefined, {timeMs: round2(performance.now() - started), status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers})
    req.once('upgrade', (res, socket) => {
      socket.destroy()
      done(res)
    })
    req.once('response', (res) => {
      res.resume()
      done(res)
    })
    req.once('error', (e) => settle(e))
    req.end()
    return () => req.destroy()
  })
}

export interface DateFacts {
  /** The relay's Date header, parsed (ms). */
  serverMs: number
  /** Local clock at the midpoint of the request (ms). */
  localMs: number
  /** local - server (the middle of the Date header's second), ms; positive: this machine is ahead. */
  skewMs: number
  status: number
}

/** GET https://{ns}/ and compare its Date header with the local clock (`now`, for tests and the skew knob). */
export function relayDate(target: RelayTarget, options: {timeoutMs: number; signal?: AbortSignal; now: () => number}): Promise<DateFacts> {
  const sent = options.now()
  return abortable<DateFacts>(options.signal, options.timeoutMs, `GET https://${target.host}/`, (settle) => {
    const req = httpsRequest({host: target.connectHost, port: target.connectPort, servername: target.host, ca: target.ca, path: '/', method: 'GET', headers: {Host: target.host}, agent: false})
    req.once('response', (res) => {
      res.resume()
      const received = options.now()
      const header = res.headers.date
      const serverMs = header ? Date.parse(header) : NaN
      if (!Number.isFinite(serverMs)) {
        settle(new Error(`the relay answered ${res.statusCode} without a usable Date header${header ? ` ("${header}")` : ''}`))
        return
      }
      const localMs = Math.round((sent + received) / 2)
      // Date has whole seconds: the relay's clock was somewhere in [serverMs, serverMs + 1000).
      settle(undefined, {serverMs, localMs, skewMs: localMs - (serverMs + 500), status: res.statusCode ?? 0})
    })
    req.once('error', (e) => settle(e))
    req.end()
    return () => req.destroy()
  })
}

export {ProxyTunnelError} from '../azure/transport.js'

/** Opens a CONNECT tunnel to the relay target through `proxyUrl` (see openConnectTunnel). */
export function proxyTunnel(proxyUrl: string, target: RelayTarget, options: {timeoutMs: number; signal?: AbortSignal}): Promise<Socket> {
  return openConnectTunnel(proxyUrl, target.connectHost, target.connectPort, options)
}

/** The proxy lookup `check` shares with the agent and the forwarder. */
export {proxyForHost as proxyFor} from '../azure/transport.js'
