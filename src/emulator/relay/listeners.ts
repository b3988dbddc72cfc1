import {randomUUID} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import type {Duplex} from 'node:stream'

import type {RawData} from 'ws'

import {MAX_LISTENERS_PER_HC, parseListenerMessage, RelayCloseCode, RelayMessage, renewedTokenText, truncateCloseReason, type ParsedRelayUrl, type ResponseCommand} from '../../lib/relay/protocol.js'
import type {RelayTokenCounters} from '../contracts.js'
import {authorize, effectiveExpiryMs, type AuthResult} from './auth.js'
import {type BrokerContext, earlySeconds, keyOf, type ListenerConn, type LocatedEntity, type PendingHttp} from './context.js'
import {ALLOWED_LISTENERS, DISALLOWED_LISTENERS, idList, toBuffer} from './headers.js'
import {refuseUpgrade} from './refuse.js'
import {reason} from './routing.js'

const MAX_TIMER_MS = 2_147_483_647

/** What HTTP mode needs to hear from the control channels (http-sender.ts). */
export interface ControlChannelEvents {
  /** A `response` command (or its body) for a request sent on this channel. */
  onResponse(conn: ListenerConn, pending: PendingHttp, response: ResponseCommand, body: Buffer | undefined): void
  /** The listener disconnected with requests it had not answered. */
  onListenerGone(conn: ListenerConn): void
}

/**
 * The listeners' control channels (relay-protocol.md §2): accepting `listen` (25 per hybrid
 * connection), token expiry (1008, with the grace and the early-expiry fault), `renewToken`,
 * and the choice of a listener for each sender (at random, narrowed by the hidden routing
 * headers). `response` commands are handed to HTTP mode.
 */
export class ListenerRegistry {
  private readonly byKey = new Map<string, Set<ListenerConn>>()
  /** Token bookkeeping since start: renewals taken, renewals refused (1008), channels closed at expiry (1008). */
  readonly tokenCounters: RelayTokenCounters = {renewals: 0, renewalsRefused: 0, expiredClosed: 0}
  /** Set by broker.ts once HTTP mode exists (the two refer to each other). */
  events!: ControlChannelEvents

  constructor(private readonly ctx: BrokerContext) {}

  handleListen(req: IncomingMessage, socket: Duplex, head: Buffer, parsed: ParsedRelayUrl, located: LocatedEntity, auth: AuthResult, trackingId: string): void {
    const {ctx} = this
    const {entity} = located
    const key = keyOf(entity.namespace, entity.name)
    const set = this.byKey.get(key) ?? new Set<ListenerConn>()
    if (this.count(entity.namespace, entity.name) >= MAX_LISTENERS_PER_HC) {
      return refuseUpgrade(socket, 403, reason(ctx, RelayMessage.ListenerQuota, trackingId, located.namespaceHost, entity.name))
    }
    const expiresAtMs = auth.ok && auth.expiresAtMs !== undefined ? auth.expiresAtMs : ctx.now()
    ctx.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: ListenerConn = {
        id: parsed.id ?? randomUUID(),
        key,
        namespace: entity.namespace,
        name: entity.name,
        path: parsed.path,
        requestHost: located.requestHost,
        namespaceHost: located.namespaceHost,
        ws,
        expiresAtSe: Math.round(expiresAtMs / 1000) + earlySeconds(ctx),
        requests: new Set(),
      }
      set.add(conn)
      this.byKey.set(key, set)
      ctx.log(`relay: listener ${conn.id} on ${entity.namespace}/${entity.name} (${set.size} connected)`)
      this.scheduleExpiry(conn)
      ws.on('message', (data, isBinary) => this.onControlMessage(conn, data, isBinary))
      ws.on('error', () => {})
      ws.on('close', () => {
        clearTimeout(conn.expiryTimer)
        set.delete(conn)
        if (set.size === 0 && this.byKey.get(key) === set) this.byKey.delete(key)
        this.events.onListenerGone(conn)
        ctx.log(`relay: listener ${conn.id} left ${entity.namespace}/${entity.name} (${set.size} connected)`)
      })
    })
  }

  scheduleExpiry(conn: ListenerConn): void {
    clearTimeout(conn.expiryTimer)
    const deadline = effectiveExpiryMs(conn.expiresAtSe, earlySeconds(this.ctx)) + this.ctx.graceSeconds * 1000
    const delay = deadline - this.ctx.now()
    if (delay <= 0) {
      this.closeExpired(conn)
      return
    }
    conn.expiryTimer = setTimeout(() => this.closeExpired(conn), Math.min(delay, MAX_TIMER_MS))
    conn.expiryTimer.unref()
  }

  private closeExpired(conn: ListenerConn): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return
    this.tokenCounters.expiredClosed++
    this.ctx.log(`relay: listener ${conn.id} on ${conn.namespace}/${conn.name}: token expired, closing 1008`)
    conn.ws.close(RelayCloseCode.PolicyViolation, truncateCloseReason(`${RelayMessage.ExpiredToken}. TrackingId:${conn.id}`))
  }

  private onControlMessage(conn: ListenerConn, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      const awaiting = conn.awaiting
      if (!awaiting) return // stray (e.g. hyco-https' empty frame after body:false): ignored
      conn.awaiting = undefined
      this.events.onResponse(conn, awaiting.pending, awaiting.response, toBuffer(data))
      return
    }
    let message
    try {
      message = parseListenerMessage(toBuffer(data))
    } catch (error) {
      this.ctx.log(`relay: listener ${conn.id}: ignored a malformed control message (${(error as Error).message})`)
      return
    }
    if (message.type === 'unknown') {
      this.ctx.log(`relay: listener ${conn.id}: ignored unknown command ${JSON.stringify(message.name.slice(0, 40))}`)
      return
    }
    if (message.type === 'renewToken') {
      this.renewToken(conn, renewedTokenText(message.renewToken))
      return
    }
    const response = message.response
    const pending = [...conn.requests].find((p) => p.id === response.requestId)
    if (!pending) {
      this.ctx.log(`relay: listener ${conn.id}: response for unknown request ignored`)
      return
    }
    if (response.body) conn.awaiting = {pending, response}
    this.events.onResponse(conn, pending, response, undefined)
  }

  private renewToken(conn: ListenerConn, token: string): void {
    const {ctx} = this
    const resolved = ctx.options.directory.resolve(conn.namespace, conn.path)
    const result: AuthResult = resolved
      ? authorize({
          action: 'listen',
          carrier: {token, source: 'ServiceBusAuthorization'},
          entity: resolved.entity,
          requestHost: conn.requestHost,
          namespaceHost: conn.namespaceHost,
          path: conn.path,
          nowMs: ctx.now(),
          graceSeconds: ctx.graceSeconds,
          earlySeconds: earlySeconds(ctx),
        })
      : {ok: false, status: 401, message: RelayMessage.EndpointNotFound}
    if (!result.ok || result.expiresAtMs === undefined) {
      const why = result.ok ? RelayMessage.TokenRenewalFailed : result.message
      this.tokenCounters.renewalsRefused++
      ctx.log(`relay: listener ${conn.id}: renewToken refused (${why}), closing 1008`)
      conn.ws.close(RelayCloseCode.PolicyViolation, truncateCloseReason(`${RelayMessage.TokenRenewalFailed}: ${why}`))
      return
    }
    conn.expiresAtSe = Math.round(result.expiresAtMs / 1000) + earlySeconds(ctx)
    this.tokenCounters.renewals++
    this.scheduleExpiry(conn)
  }

  /**
   * A random open listener (§5), narrowed by the hidden routing headers
   * `Microsoft-Relay-AllowedListeners` / `-DisallowedListeners` (listener `sb-hc-id`s, §3.4).
   */
  pick(key: string, req: IncomingMessage): ListenerConn | 'none' | 'filtered' {
    let open = [...(this.byKey.get(key) ?? [])].filter((c) => c.ws.readyState === c.ws.OPEN)
    if (open.length === 0) return 'none'
    const allowed = idList(req.headers[ALLOWED_LISTENERS])
    const disallowed = idList(req.headers[DISALLOWED_LISTENERS])
    if (allowed) open = open.filter((c) => allowed.has(c.id.toLowerCase()))
    if (disallowed) open = open.filter((c) => !disallowed.has(c.id.toLowerCase()))
    if (open.length === 0) return 'filtered'
    return open[Math.floor(Math.random() * open.length)]!
  }

  /** Open control channels only: one whose close handshake has begun no longer counts. */
  count(namespace: string, name: string): number {
    let n = 0
    for (const conn of this.byKey.get(keyOf(namespace, name)) ?? []) if (conn.ws.readyState === conn.ws.OPEN) n += 1
    return n
  }

  /** Open control channels, optionally of one namespace and hybrid connection. */
  matching(namespace?: string, name?: string): ListenerConn[] {
    const out: ListenerConn[] = []
    for (const set of this.byKey.values()) {
      for (const conn of set) {
        if (namespace !== undefined && conn.namespace.toLowerCase() !== namespace.toLowerCase()) continue
        if (name !== undefined && conn.name.toLowerCase() !== name.toLowerCase()) continue
        if (conn.ws.readyState === conn.ws.OPEN) out.push(conn)
      }
    }
    return out
  }

  /** Every control channel, open or closing (for shutdown). */
  all(): ListenerConn[] {
    return [...this.byKey.values()].flatMap((set) => [...set])
  }
}
