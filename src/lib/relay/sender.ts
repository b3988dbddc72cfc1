import {randomUUID} from 'node:crypto'
import type {WebSocket} from 'ws'

import {type CloudProfile, relayHost} from '../azure/clouds.js'
import {UsageError} from '../errors.js'
import type {RelayConnectionString} from './connection-string.js'
import {credentialsFromConnectionString, credentialsFromKey, credentialsFromToken, type HybridConnectionCredentials} from './credentials.js'
import {errorForNetwork, errorForUpgrade, RelayError} from './errors.js'
import {buildConnectUrl, SERVICE_BUS_AUTHORIZATION} from './protocol.js'
import {HandshakeTimeoutError, openRawWebSocket, type RawWebSocket, UpgradeRefusedError} from './raw-websocket.js'
import {relayStream, type RelayStream} from './stream.js'
import {transportFromCloud, type RelayTransport, wsClientOptions} from './transport.js'
import type {TunnelOptions} from './tunnel.js'

/**
 * The sender side of a hybrid connection: one WebSocket through the relay to a listener.
 * Used by `hcctl forward`, by diagnostics, and by the emulator's app sandbox.
 */
export interface ConnectSenderOptions {
  /** Cloud profile: its relay suffix, CA and relay address override (the emulator's). */
  cloud?: CloudProfile
  /** The namespace host (e.g. contoso.servicebus.windows.net). Or `namespace` with `cloud`. */
  host?: string
  namespace?: string
  /** Hybrid connection name. Optional with a connection string that has EntityPath. */
  entity?: string
  /** A ready SAS token (string or provider). */
  token?: string | (() => string)
  /** Or sign with a rule's key. */
  keyName?: string
  key?: string
  /** Or a Send connection string. */
  connectionString?: string | RelayConnectionString
  /** Or prepared credentials. */
  credentials?: HybridConnectionCredentials
  /** Extra upgrade headers; the listener sees them in `connectHeaders`. */
  headers?: Record<string, string>
  /** Application query parameters passed to the listener. */
  query?: Record<string, string>
  /** Tracking id (sb-hc-id); a UUID by default. */
  id?: string
  signal?: AbortSignal
  /** Upgrade timeout, default 30 s (the relay holds a sender up to ~30 s while a listener accepts). */
  timeoutMs?: number
  /** Lifetime of tokens we sign, default 3600 s. */
  tokenTtlSeconds?: number
}

export interface SenderConnection {
  /** The open WebSocket: binary messages are the stream's bytes. */
  ws: WebSocket
  /** The sb-hc-id we sent. */
  id: string
  host: string
  entity: string
}

/** Resolves the credentials of a sender (or anything else) from the options' alternatives. */
export function resolveCredentials(o: Pick<ConnectSenderOptions, 'cloud' | 'host' | 'namespace' | 'entity' | 'token' | 'keyName' | 'key' | 'connectionString' | 'credentials'>): HybridConnectionCredentials {
  if (o.credentials) return o.credentials
  if (o.connectionString) return credentialsFromConnectionString(o.connectionString, {entity: o.entity, cloud: o.cloud})
  const host = o.host ?? (o.namespace && o.cloud ? relayHost(o.cloud, o.namespace) : undefined)
  if (!host) throw new UsageError('No relay host: give a connection string, a host, or a namespace with a cloud.', {code: 'MissingRelayHost'})
  if (!o.entity) throw new UsageError('No hybrid connection name (entity) given.', {code: 'MissingEntity'})
  if (o.keyName && o.key) return credentialsFromKey({host, entity: o.entity, keyName: o.keyName, key: o.key})
  if (o.token) {
    const t = o.token
    if (typeof t === 'function') return {host, entity: o.entity, token: () => t()}
    return credentialsFromToken(host, o.entity, t)
  }
  throw new UsageError('No credentials: give a Send connection string, a key name and key, or a SAS token.', {code: 'MissingCredentials'})
}

/**
 * Opens a sender WebSocket. Resolves with the open socket, or rejects with a RelayError
 * (HybridConnectionNotFound, NoListener, RelayUnauthorized, RejectedByListener with the
 * listener's status and reason, RelayTimeout, RelayUnreachable) or a UsageError for bad input.
 */
export async function connectSender(options: ConnectSenderOptions): Promise<SenderConnection> {
  const creds = resolveCredentials(options)
  const transport = transportFromCloud(options.cloud)
  return openSender(creds, transport, options)
}

export async function openSender(creds: HybridConnectionCredentials, transport: RelayTransport, options: Pick<ConnectSenderOptions, 'headers' | 'query' | 'id' | 'signal' | 'timeoutMs' | 'tokenTtlSeconds'> = {}): Promise<SenderConnection> {
  const {WebSocket} = await import('ws')
  const id = options.id ?? randomUUID()
  const url = buildConnectUrl(creds.host, creds.entity, {id, query: options.query})
  const timeoutMs = options.timeoutMs ?? 30_000
  const ctx = {role: 'sender' as const, entity: creds.entity, host: creds.host}
  options.signal?.throwIfAborted()
  const token = creds.token(options.tokenTtlSeconds ?? 3600)

  return new Promise<SenderConnection>((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: {...options.headers, [SERVICE_BUS_AUTHORIZATION]: token},
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
      ...wsClientOptions(transport, url),
    })
    let settled = false
    const settle = (error?: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      if (error) {
        ws.removeAllListeners()
        ws.on('error', () => {})
        if (ws.readyState !== ws.CLOSED) ws.terminate()
        reject(error)
      } else {
        ws.removeListener('error', onError)
        resolve({ws, id, host: creds.host, entity: creds.entity})
      }
    }
    const timer = setTimeout(
      () => settle(new RelayError('RelayTimeout', `No answer from the relay for hybrid connection "${creds.entity}" on ${creds.host} within ${timeoutMs} ms.`)),
      timeoutMs,
    )
    const onAbort = () => settle(new RelayError('RelayTimeout', 'Cancelled.', {cause: options.signal?.reason}))
    options.signal?.addEventListener('abort', onAbort, {once: true})
    const onError = (error: NodeJS.ErrnoException) => {
      if (/timeout/i.test(error.message)) settle(new RelayError('RelayTimeout', `No answer from the relay for hybrid connection "${creds.entity}" on ${creds.host} within ${timeoutMs} ms.`))
      else settle(errorForNetwork(error, creds.host))
    }
    ws.on('error', onError)
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0
      const reason = res.statusMessage ?? ''
      res.resume()
      settle(errorForUpgrade(status, reason, ctx))
    })
    ws.on('open', () => settle())
  })
}

export interface RawSenderConnection extends Omit<SenderConnection, 'ws'> {
  /** The upgraded socket, for a tunnel that frames it itself (tunnel.ts). */
  ws: RawWebSocket
}

/**
 * `openSender` for tunnels: the same handshake and the same typed errors, but resolves with
 * the upgraded socket instead of a `ws` WebSocket, so the tunnel can stream frames to TCP
 * without assembling messages (`hcctl forward`).
 */
export async function openSenderRaw(creds: HybridConnectionCredentials, transport: RelayTransport, options: Pick<ConnectSenderOptions, 'headers' | 'query' | 'id' | 'signal' | 'timeoutMs' | 'tokenTtlSeconds'> = {}): Promise<RawSenderConnection> {
  const id = options.id ?? randomUUID()
  const url = buildConnectUrl(creds.host, creds.entity, {id, query: options.query})
  const timeoutMs = options.timeoutMs ?? 30_000
  options.signal?.throwIfAborted()
  const token = creds.token(options.tokenTtlSeconds ?? 3600)
  try {
    const ws = await openRawWebSocket(url, {headers: {...options.headers, [SERVICE_BUS_AUTHORIZATION]: token}, timeoutMs, transport, signal: options.signal})
    return {ws, id, host: creds.host, entity: creds.entity}
  } catch (error) {
    if (error instanceof UpgradeRefusedError) throw errorForUpgrade(error.status, error.statusMessage, {role: 'sender', entity: creds.entity, host: creds.host})
    if (error instanceof HandshakeTimeoutError) throw new RelayError('RelayTimeout', `No answer from the relay for hybrid connection "${creds.entity}" on ${creds.host} within ${timeoutMs} ms.`)
    if (options.signal?.aborted) throw new RelayError('RelayTimeout', 'Cancelled.', {cause: options.signal.reason})
    throw errorForNetwork(error as NodeJS.ErrnoException, creds.host)
  }
}

/**
 * A sender as a byte stream (stream.ts): writes become binary messages, reads are the bytes of
 * what arrives, and the stream half-closes as TCP does: `end()` sends Close 1000 "Shutdown" and
 * reading goes on until the listener's Close, which ends the readable side. For callers that
 * pipe, e.g. `relay test`, a tcpping through the relay or a diagnostic round trip.
 */
export async function connectSenderStream(options: ConnectSenderOptions & Pick<TunnelOptions, 'closeTimeoutMs'>): Promise<RawSenderConnection & {stream: RelayStream}> {
  const creds = resolveCredentials(options)
  const conn = await openSenderRaw(creds, transportFromCloud(options.cloud), options)
  return {...conn, stream: relayStream(conn.ws, {closeTimeoutMs: options.closeTimeoutMs, signal: options.signal})}
}
