import {randomBytes} from 'node:crypto'
import {request as httpRequest, type ClientRequest, type IncomingMessage} from 'node:http'
import {request as httpsRequest, type RequestOptions} from 'node:https'
import type {Duplex} from 'node:stream'

import {withDeadline} from '../deadline.js'
import {websocketAccept} from './frames.js'
import {relayConnection, type RelayTransport} from './transport.js'

/**
 * A client WebSocket handshake that hands back the socket instead of a message API: for the
 * tunnels, which stream frame payloads to TCP as they arrive (tunnel.ts) rather than have `ws`
 * assemble each message first. Control channels and diagnostics keep using `ws`.
 */
export interface RawWebSocket {
  /** The upgraded connection (TLS for wss:). */
  socket: Duplex
  /** Bytes that arrived with the 101 answer, after its headers: the first frames. */
  head: Buffer
  /** The subprotocol the server chose ('' for none). */
  protocol: string
}

/** The server answered the upgrade with something other than 101. */
export class UpgradeRefusedError extends Error {
  override readonly name = 'UpgradeRefusedError'
  constructor(
    readonly status: number,
    readonly statusMessage: string,
  ) {
    super(`HTTP ${status} ${statusMessage}`.trim())
  }
}

/** No 101 within the handshake timeout. */
export class HandshakeTimeoutError extends Error {
  override readonly name = 'HandshakeTimeoutError'
  constructor(ms: number) {
    super(`Opening handshake has timed out after ${ms} ms`)
  }
}

export interface OpenRawOptions {
  headers?: Record<string, string>
  protocols?: string[]
  timeoutMs: number
  transport: RelayTransport
  signal?: AbortSignal
}

/**
 * Opens a WebSocket to `url` (ws: or wss:) and resolves with the upgraded socket. Rejects with
 * UpgradeRefusedError (the status and reason phrase, which the relay fills with its error
 * text), HandshakeTimeoutError, the signal's reason, or the network error.
 */
export function openRawWebSocket(url: string, options: OpenRawOptions): Promise<RawWebSocket> {
  const u = new URL(url)
  const secure = u.protocol === 'wss:' || u.protocol === 'https:'
  const key = randomBytes(16).toString('base64')
  const headers: Record<string, string> = {
    ...options.headers,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': key,
  }
  if (options.protocols?.length) headers['Sec-WebSocket-Protocol'] = options.protocols.join(',')

  const abortError = (): Error => (options.signal?.reason instanceof Error ? options.signal.reason : new Error('Cancelled'))
  return withDeadline<RawWebSocket>({timeoutMs: options.timeoutMs, signal: options.signal, timeoutError: () => new HandshakeTimeoutError(options.timeoutMs), abortError}, (settle) => {
    const requestOptions: RequestOptions = {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port || (secure ? 443 : 80),
      // Without an agent Node would write `Host: name:443`; the relay routes by the bare name.
      defaultPort: secure ? 443 : 80,
      path: `${u.pathname}${u.search}`,
      headers,
      // No agent: an upgraded socket is never pooled (as ws does it).
      createConnection: relayConnection(options.transport, url),
    }
    const req: ClientRequest = (secure ? httpsRequest : httpRequest)(requestOptions)
    req.on('error', (e) => settle(e))
    req.on('response', (res: IncomingMessage) => {
      res.resume()
      settle(new UpgradeRefusedError(res.statusCode ?? 0, res.statusMessage ?? ''))
    })
    req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (res.headers['sec-websocket-accept'] !== websocketAccept(key) || String(res.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        socket.destroy()
        settle(new Error('The server answered the upgrade with an invalid Sec-WebSocket-Accept or Upgrade header'))
        return
      }
      const protocol = String(res.headers['sec-websocket-protocol'] ?? '')
      if (protocol && !options.protocols?.includes(protocol)) {
        socket.destroy()
        settle(new Error(`The server chose the subprotocol "${protocol}", which was not offered`))
        return
      }
      // The tunnel attaches its own handlers at once. A module-level function: a closure made
      // here would keep this request, its answer and the URL alive for the tunnel's whole life.
      socket.on('error', ignore)
      settle(undefined, {socket, head, protocol})
    })
    req.end()
    // A failure (including the deadline) tears the request down; an upgraded socket is kept.
    return (error) => {
      if (error) req.destroy()
    }
  })
}

function ignore(): void {}
