import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Duplex} from 'node:stream'

import type {RawData, WebSocket} from 'ws'

import {
  buildRequestRendezvousUrl,
  CONTROL_BODY_LIMIT,
  CONTROL_HEADERS_LIMIT,
  formatRequest,
  parseListenerMessage,
  RelayCloseCode,
  RelayMessage,
  sanitizeReasonPhrase,
  type ParsedRelayUrl,
  type RequestCommand,
  type ResponseCommand,
} from '../../lib/relay/protocol.js'
import {type BrokerContext, keyOf, type ListenerConn, type LocatedEntity, newId, type PendingHttp} from './context.js'
import {defaultReason, forwardedRequestHeaders, HOP_BY_HOP, sendJsonError, toBuffer} from './headers.js'
import type {ControlChannelEvents, ListenerRegistry} from './listeners.js'
import {authenticate, locate, reason, remoteEndpointOf, trackingIdOf} from './routing.js'

/** HTTP-mode request bodies above this are refused with 413 (the emulator buffers them). */
const MAX_HTTP_BODY = 64 * 1024 * 1024

/**
 * HTTP sender mode (relay-protocol.md §2.6, §2.7, §3.4): a plain HTTPS request to a hybrid
 * connection becomes a `request` command to a listener (on the control channel when small,
 * else on a rendezvous the listener dials), and the listener's `response` becomes the answer,
 * with `Via` added; 502 without a listener, 504 when it does not answer in time.
 */
export class HttpSenders implements ControlChannelEvents {
  private readonly pending = new Set<PendingHttp>()
  /** Rendezvous WebSockets of HTTP requests (closed on shutdown). */
  readonly relayed = new Set<WebSocket>()

  constructor(
    private readonly ctx: BrokerContext,
    private readonly listeners: ListenerRegistry,
    private readonly httpTimeoutMs: number,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse, parsed: ParsedRelayUrl): void {
    const {ctx} = this
    const located = locate(ctx, req, parsed.path)
    const trackingId = trackingIdOf(parsed)
    if (!located.entity) {
      return sendJsonError(res, 404, 'EndpointNotFound', reason(ctx, RelayMessage.EndpointNotFound, trackingId, located.namespaceHost, parsed.path))
    }
    const entity = located.entity
    const auth = authenticate(ctx, req, parsed, located, 'http')
    if (!auth.ok) {
      const code = auth.status === 401 ? 'TokenMissingOrInvalid' : 'Forbidden'
      return sendJsonError(res, auth.status, code, reason(ctx, auth.message, trackingId, located.namespaceHost, entity.name))
    }
    const listener = this.listeners.pick(keyOf(entity.namespace, entity.name), req)
    if (listener === 'none') {
      return sendJsonError(res, 502, 'BadGateway', reason(ctx, RelayMessage.NoListeners, trackingId, located.namespaceHost, entity.name))
    }
    if (listener === 'filtered') {
      return sendJsonError(res, 404, 'EndpointNotFound', reason(ctx, RelayMessage.NoListenerMeetsCriteria, trackingId, located.namespaceHost, entity.name))
    }
    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = false
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return
      size += chunk.length
      if (size > MAX_HTTP_BODY) {
        tooLarge = true
        chunks.length = 0
        sendJsonError(res, 413, 'PayloadTooLarge', `The emulator relays HTTP bodies up to ${MAX_HTTP_BODY} bytes`)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (tooLarge) return
      const body = Buffer.concat(chunks)
      this.dispatch(req, res, parsed, located as LocatedEntity, listener, body, auth.ok && auth.carrierSource === 'Authorization', trackingId)
    })
  }

  private dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    parsed: ParsedRelayUrl,
    located: LocatedEntity,
    listener: ListenerConn,
    body: Buffer,
    dropAuthorization: boolean,
    trackingId: string,
  ): void {
    const {ctx} = this
    if (listener.ws.readyState !== listener.ws.OPEN) {
      return sendJsonError(res, 502, 'BadGateway', reason(ctx, RelayMessage.NoListeners, trackingId, located.namespaceHost, located.entity.name))
    }
    const id = `${trackingId}${newId()}`
    const query = parsed.appQuery.toString()
    const requestHeaders = forwardedRequestHeaders(req, located.namespaceHost, dropAuthorization)
    const remoteEndpoint = remoteEndpointOf(req)
    const command: RequestCommand = {
      address: buildRequestRendezvousUrl(ctx.options.rendezvousBase(), located.entity.name, id),
      id,
      requestTarget: `/${parsed.rawPath}${query ? `?${query}` : ''}`,
      method: req.method ?? 'GET',
      ...(remoteEndpoint ? {remoteEndpoint} : {}),
      requestHeaders,
      body: body.length > 0,
    }
    const headerBytes = Object.entries(requestHeaders).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 4, 0)
    const onControl = body.length <= CONTROL_BODY_LIMIT && headerBytes <= CONTROL_HEADERS_LIMIT
    const pending: PendingHttp = {
      kind: 'request',
      id,
      command,
      body,
      onControl,
      listener,
      res,
      namespaceHost: located.namespaceHost,
      trackingId,
      entityName: located.entity.name,
      rendezvousUsed: false,
      done: false,
    }
    this.pending.add(pending)
    listener.requests.add(pending)
    ctx.rendezvous.set(id, pending)
    this.restartTimer(pending)
    res.once('close', () => {
      if (!pending.done) this.finish(pending) // the sender went away
    })
    if (onControl) {
      // The command and its body go out back to back: nothing can interleave (§2.2).
      listener.ws.send(formatRequest(command))
      if (command.body) listener.ws.send(body, {binary: true})
    } else {
      listener.ws.send(formatRequest({address: command.address, id}))
    }
  }

  /** The listener dialled the request's rendezvous address. */
  attachRendezvous(pending: PendingHttp, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    pending.rendezvousUsed = true
    this.ctx.wss.handleUpgrade(req, socket, head, (ws) => {
      if (pending.done) {
        ws.close(RelayCloseCode.GoingAway, 'The request is no longer pending')
        return
      }
      pending.rendezvous = ws
      this.relayed.add(ws)
      ws.on('error', () => {})
      ws.on('message', (data, isBinary) => this.onRendezvousMessage(pending, data, isBinary))
      ws.on('close', () => {
        this.relayed.delete(ws)
        if (!pending.done) {
          // The listener closed the rendezvous without answering: drop the sender (§2.7).
          this.fail(pending, 502, 'ListenerDisconnected', 'The listener closed the rendezvous before it answered the request')
        }
      })
      if (!pending.onControl) {
        ws.send(formatRequest(pending.command))
        if (pending.command.body) ws.send(pending.body, {binary: true})
      }
    })
  }

  private onRendezvousMessage(pending: PendingHttp, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      const response = pending.awaiting
      if (!response) return // stray empty frame
      pending.awaiting = undefined
      this.complete(pending, response, toBuffer(data))
      return
    }
    let message
    try {
      message = parseListenerMessage(toBuffer(data))
    } catch {
      return
    }
    if (message.type !== 'response' || message.response.requestId !== pending.id) return
    if (message.response.body) {
      pending.awaiting = message.response
      this.restartTimer(pending)
    } else {
      this.complete(pending, message.response, Buffer.alloc(0))
    }
  }

  onResponse(_conn: ListenerConn, pending: PendingHttp, response: ResponseCommand, body: Buffer | undefined): void {
    if (body !== undefined) this.complete(pending, response, body)
    else if (response.body) this.restartTimer(pending) // its body follows
    else this.complete(pending, response, Buffer.alloc(0))
  }

  onListenerGone(conn: ListenerConn): void {
    for (const pending of conn.requests) {
      if (!pending.rendezvous) this.fail(pending, 502, 'ListenerDisconnected', 'The listener disconnected before it answered the request')
    }
  }

  private restartTimer(pending: PendingHttp): void {
    clearTimeout(pending.timer)
    pending.timer = setTimeout(() => {
      this.fail(
        pending,
        504,
        'GatewayTimeout',
        reason(this.ctx, 'The request was routed to the listener but the listener did not respond in the required time', pending.trackingId, pending.namespaceHost, pending.entityName),
      )
    }, this.httpTimeoutMs)
  }

  private complete(pending: PendingHttp, response: ResponseCommand, body: Buffer): void {
    if (pending.done) return
    const {res} = pending
    this.finish(pending)
    if (res.headersSent || res.destroyed) return
    try {
      for (const [name, value] of Object.entries(response.responseHeaders ?? {})) {
        if (HOP_BY_HOP.has(name.toLowerCase())) continue
        res.setHeader(name, value)
      }
      const via = res.getHeader('via')
      res.setHeader('Via', via ? `${String(via)}, 1.1 ${pending.namespaceHost}` : `1.1 ${pending.namespaceHost}`)
      res.writeHead(response.statusCode, sanitizeReasonPhrase(response.statusDescription ?? defaultReason(response.statusCode)))
      res.end(body)
    } catch (error) {
      this.ctx.log(`relay: bad response from listener: ${(error as Error).message}`)
      if (!res.headersSent) {
        for (const name of res.getHeaderNames()) res.removeHeader(name)
        sendJsonError(res, 502, 'BadGateway', 'The listener sent a response the relay could not forward')
      } else {
        res.destroy()
      }
    }
  }

  fail(pending: PendingHttp, status: number, code: string, message: string): void {
    if (pending.done) return
    this.finish(pending)
    if (status === 502 && pending.res.headersSent) pending.res.destroy()
    else sendJsonError(pending.res, status, code, message)
  }

  private finish(pending: PendingHttp): void {
    pending.done = true
    clearTimeout(pending.timer)
    this.pending.delete(pending)
    pending.listener.requests.delete(pending)
    if (pending.listener.awaiting?.pending === pending) pending.listener.awaiting = undefined
    this.ctx.rendezvous.delete(pending.id)
    const ws = pending.rendezvous
    if (ws && ws.readyState === ws.OPEN) ws.close(RelayCloseCode.Normal, 'Response delivered')
  }

  /** Shutdown: every waiting sender gets 503. */
  failAll(): void {
    for (const pending of [...this.pending]) this.fail(pending, 503, 'ServerBusy', 'The relay is shutting down')
  }
}
