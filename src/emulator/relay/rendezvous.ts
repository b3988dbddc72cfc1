import type {IncomingMessage} from 'node:http'
import type {Duplex} from 'node:stream'

import {closeFrame} from '../../lib/relay/frames.js'
import {buildAcceptUrl, formatAccept, RelayCloseCode, RelayMessage, type ParsedRelayUrl} from '../../lib/relay/protocol.js'
import {type BrokerContext, keyOf, type LocatedEntity, newId, type PendingAccept} from './context.js'
import {badHandshake, connectHeaders, offeredProtocols} from './headers.js'
import type {HttpSenders} from './http-sender.js'
import type {ListenerRegistry} from './listeners.js'
import {refuseUpgrade} from './refuse.js'
import {hostOf, reason, remoteEndpointOf, trackingIdOf} from './routing.js'
import {acceptWebSocket, spliceWebSockets, type Splice} from './splice.js'

/**
 * The rendezvous of WebSocket senders (relay-protocol.md §2.3-§2.5, §3.1): a sender's upgrade
 * is held while a listener gets `accept` with a single-use address; when the listener dials
 * it, both upgrades are answered and the two connections are spliced frame by frame
 * (splice.ts); a listener's reject reaches the sender as status and reason; no dial within
 * the timeout is a 404. Dials of HTTP-request rendezvous addresses go to HTTP mode.
 */
export class Rendezvous {
  readonly splices = new Set<Splice>()

  constructor(
    private readonly ctx: BrokerContext,
    private readonly listeners: ListenerRegistry,
    private readonly http: HttpSenders,
    private readonly timeoutMs: number,
  ) {}

  /** A sender's `connect`: hold it and send `accept` to a listener. */
  connect(req: IncomingMessage, socket: Duplex, parsed: ParsedRelayUrl, located: LocatedEntity, head: Buffer, trackingId: string): void {
    const {ctx} = this
    const {entity} = located
    const key = keyOf(entity.namespace, entity.name)
    const listener = this.listeners.pick(key, req)
    if (listener === 'none') {
      return refuseUpgrade(socket, 404, reason(ctx, RelayMessage.NoListeners, trackingId, located.namespaceHost, entity.name))
    }
    if (listener === 'filtered') {
      return refuseUpgrade(socket, 404, reason(ctx, RelayMessage.NoListenerMeetsCriteria, trackingId, located.namespaceHost, entity.name))
    }
    const id = `${trackingId}${newId()}`
    const pending: PendingAccept = {
      kind: 'accept',
      id,
      key,
      senderReq: req,
      senderSocket: socket,
      senderHead: head,
      trackingId,
      namespaceHost: located.namespaceHost,
      entityName: entity.name,
      timer: setTimeout(() => {
        ctx.rendezvous.delete(id)
        ctx.log(`relay: sender ${trackingId} on ${entity.namespace}/${entity.name}: no listener accepted in time`)
        refuseUpgrade(socket, 404, reason(ctx, RelayMessage.AcceptTimeout, trackingId, located.namespaceHost, entity.name))
      }, this.timeoutMs),
    }
    ctx.rendezvous.set(id, pending)
    socket.once('close', () => {
      if (ctx.rendezvous.get(id) === pending) ctx.rendezvous.delete(id)
      clearTimeout(pending.timer)
    })
    if (ctx.faults.stallRendezvous) {
      ctx.log(`relay: sender ${trackingId}: stalled (fault)`)
      return
    }
    const remoteEndpoint = remoteEndpointOf(req)
    const accept = {
      address: buildAcceptUrl(ctx.options.rendezvousBase(), entity.name, id, {suffix: located.suffix, query: parsed.appQuery}),
      id,
      connectHeaders: connectHeaders(req),
      ...(remoteEndpoint ? {remoteEndpoint} : {}),
    }
    listener.ws.send(formatAccept(accept))
  }

  /** A listener dials a rendezvous address (`accept` or `request`). */
  dial(req: IncomingMessage, socket: Duplex, head: Buffer, parsed: ParsedRelayUrl, action: 'accept' | 'request'): void {
    const {ctx} = this
    const pending = parsed.id === undefined ? undefined : ctx.rendezvous.get(parsed.id)
    const host = hostOf(req) || 'localhost'
    if (!pending || pending.kind !== action || (pending.kind === 'request' && (pending.rendezvousUsed || pending.done))) {
      return refuseUpgrade(socket, 403, reason(ctx, RelayMessage.RendezvousInvalid, trackingIdOf(parsed), host, parsed.path))
    }
    if (ctx.faults.refuseRendezvous) {
      // The listener cannot accept; the sender keeps waiting until its timeout, as it would in Azure.
      if (pending.kind === 'accept') ctx.rendezvous.delete(pending.id)
      else pending.rendezvousUsed = true
      return refuseUpgrade(socket, ctx.faults.refuseRendezvous, reason(ctx, 'The rendezvous was refused (fault injection)', pending.trackingId, pending.namespaceHost, pending.entityName))
    }
    if (pending.kind === 'request') return this.http.attachRendezvous(pending, req, socket, head)
    ctx.rendezvous.delete(pending.id)
    clearTimeout(pending.timer)
    if (parsed.reject) return this.reject(pending, socket, parsed.reject)
    const bad = badHandshake(req)
    if (bad) return refuseUpgrade(socket, 400, bad)
    this.splice(pending, req, socket, head)
  }

  private reject(pending: PendingAccept, socket: Duplex, rejection: NonNullable<ParsedRelayUrl['reject']>): void {
    const status = rejection.statusCode !== undefined && rejection.statusCode >= 200 ? rejection.statusCode : 400
    const description = rejection.statusDescription || 'Rejected by user code'
    this.ctx.log(`relay: sender ${pending.trackingId} rejected by the listener with ${status}`)
    refuseUpgrade(pending.senderSocket, status, description)
    refuseUpgrade(socket, 410, 'Gone: the connection was rejected and the sender told so')
  }

  /** Both legs are answered here and spliced frame by frame (splice.ts), not through `ws`. */
  private splice(pending: PendingAccept, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const sender = pending.senderSocket
    const protocol = offeredProtocols(req)[0]
    acceptWebSocket(socket, String(req.headers['sec-websocket-key']), protocol)
    if (this.ctx.closing || sender.destroyed || !sender.readable || !sender.writable) {
      socket.end(closeFrame(RelayCloseCode.GoingAway, 'The sender shut down the connection'))
      return
    }
    // The sender gets the subprotocol its listener chose (when it offered any).
    acceptWebSocket(sender, String(pending.senderReq.headers['sec-websocket-key']), offeredProtocols(pending.senderReq).length > 0 ? protocol : undefined)
    this.ctx.log(`relay: sender ${pending.trackingId} connected${protocol ? ` (subprotocol ${protocol})` : ''}`)
    const splice = spliceWebSockets(sender, pending.senderHead, socket, head, {closeTimeoutMs: this.ctx.options.closeTimeoutMs, onClosed: () => this.splices.delete(splice)})
    this.splices.add(splice)
  }

  /** Shutdown: held senders get 503, spliced pairs a Close 1001. */
  async close(): Promise<void> {
    for (const pending of [...this.ctx.rendezvous.values()]) {
      if (pending.kind === 'accept') {
        clearTimeout(pending.timer)
        refuseUpgrade(pending.senderSocket, 503, 'The relay is shutting down')
      }
    }
    this.ctx.rendezvous.clear()
    await Promise.all([...this.splices].map((splice) => splice.close(RelayCloseCode.GoingAway, 'The relay is shutting down')))
  }
}
