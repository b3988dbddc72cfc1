import {STATUS_CODES, type IncomingMessage, type ServerResponse} from 'node:http'
import {randomBytes, randomUUID} from 'node:crypto'
import type {Duplex} from 'node:stream'
import type {TLSSocket} from 'node:tls'

import {WebSocketServer, type RawData, type WebSocket} from 'ws'

import {
  buildAcceptUrl,
  buildRequestRendezvousUrl,
  CONTROL_BODY_LIMIT,
  CONTROL_HEADERS_LIMIT,
  formatAccept,
  formatReason,
  formatRequest,
  HTTP_RESPONSE_TIMEOUT_MS,
  MAX_LISTENERS_PER_HC,
  parseListenerMessage,
  parseRelayTarget,
  RelayCloseCode,
  RelayMessage,
  renewedTokenText,
  RENDEZVOUS_TIMEOUT_MS,
  sanitizeReasonPhrase,
  truncateCloseReason,
  type ParsedRelayUrl,
  type RemoteEndpoint,
  type RequestCommand,
  type ResponseCommand,
} from '../../lib/relay/protocol.js'
import type {RelayBroker, RelayBrokerOptions, RelayEntity, RelayFaults} from '../contracts.js'
import {authorize, effectiveExpiryMs, findToken, type AuthAction, type AuthResult} from './auth.js'
import {hybridConnectionEntryXml, managementErrorXml} from './management.js'
import {refuseUpgrade} from './refuse.js'
import {closeFrame} from '../../lib/relay/frames.js'
import {acceptWebSocket, spliceWebSockets, type Splice} from './splice.js'

/**
 * The relay data plane of the emulator (relay-protocol.md §8): listener control channels,
 * WebSocket senders held until a listener dials the rendezvous, HTTP-mode senders relayed as
 * `request`/`response` commands, SAS validation, the runtime management GET, and the relay
 * faults. One instance serves every namespace of the emulator; the ARM state is reached only
 * through `options.directory`.
 */

const DEFAULT_GRACE_SECONDS = 300
/** HTTP-mode request bodies above this are refused with 413 (the emulator buffers them). */
const MAX_HTTP_BODY = 64 * 1024 * 1024
const MAX_TIMER_MS = 2_147_483_647
const ALLOWED_LISTENERS = 'microsoft-relay-allowedlisteners'
const DISALLOWED_LISTENERS = 'microsoft-relay-disallowedlisteners'

function idList(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  const text = Array.isArray(value) ? value.join(',') : value
  return new Set(text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))
}

/** RFC 7230 connection headers that never travel in `requestHeaders`/`responseHeaders` (§2.6). */
const HOP_BY_HOP = new Set([
  'connection',
  'content-length',
  'host',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'close',
  'keep-alive',
  'proxy-connection',
])

interface Located {
  entity?: RelayEntity
  suffix: string
  /** The Host the request was addressed to: lower-case, no port. */
  requestHost: string
  /** `{ns}{suffix}` when known, else the request host. */
  namespaceHost: string
}

interface ListenerConn {
  id: string
  key: string
  namespace: string
  name: string
  /** HC path used at `listen` (for re-checking renewed tokens). */
  path: string
  requestHost: string
  namespaceHost: string
  ws: WebSocket
  expiresAtSe: number
  expiryTimer?: NodeJS.Timeout
  /** HTTP requests sent on this control channel and not yet answered. */
  requests: Set<PendingHttp>
  /** A `response` with `body:true` arrived; the next binary message is its body. */
  awaiting?: {pending: PendingHttp; response: ResponseCommand}
}

interface PendingAccept {
  kind: 'accept'
  id: string
  key: string
  senderReq: IncomingMessage
  senderSocket: Duplex
  senderHead: Buffer
  trackingId: string
  namespaceHost: string
  entityName: string
  timer: NodeJS.Timeout
}

interface PendingHttp {
  kind: 'request'
  id: string
  command: RequestCommand
  body: Buffer
  onControl: boolean
  listener: ListenerConn
  res: ServerResponse
  namespaceHost: string
  trackingId: string
  entityName: string
  rendezvous?: WebSocket
  rendezvousUsed: boolean
  awaiting?: ResponseCommand
  timer?: NodeJS.Timeout
  done: boolean
}

type Pending = PendingAccept | PendingHttp

export function createRelayBroker(options: RelayBrokerOptions): RelayBroker {
  const now = options.now ?? Date.now
  const log = options.log ?? (() => {})
  const suffix = options.relaySuffix.toLowerCase()
  const graceSeconds = options.tokenGraceSeconds ?? DEFAULT_GRACE_SECONDS
  const rendezvousTimeoutMs = options.rendezvousTimeoutMs ?? RENDEZVOUS_TIMEOUT_MS
  const httpTimeoutMs = options.httpResponseTimeoutMs ?? HTTP_RESPONSE_TIMEOUT_MS
  let faults: RelayFaults = {}
  let closing = false

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols(protocols) {
      const [firstOffered] = protocols
      return firstOffered ?? false
    },
  })

  const listeners = new Map<string, Set<ListenerConn>>()
  const rendezvous = new Map<string, Pending>()
  const relayed = new Set<WebSocket>()
  const splices = new Set<Splice>()
  const pendingHttp = new Set<PendingHttp>()

  const earlySeconds = (): number => faults.expireTokensEarlySeconds ?? 0
  const keyOf = (namespace: string, name: string): string => `${namespace.toLowerCase()}/${name.toLowerCase()}`
  const newId = (): string => randomBytes(16).toString('hex')

  // -------------------------------------------------------------------------------------------
  // Addressing

  function hostOf(req: IncomingMessage): string {
    const raw = String(req.headers.host ?? '').trim().toLowerCase()
    if (raw.startsWith('[')) return raw.slice(0, raw.indexOf(']') + 1)
    return raw.replace(/:\d*$/, '')
  }

  function namespaceFromHost(host: string): string | undefined {
    if (suffix && host.endsWith(suffix) && host.length > suffix.length) return host.slice(0, -suffix.length)
    return undefined
  }

  function locate(req: IncomingMessage, path: string): Located {
    const requestHost = hostOf(req)
    let namespace = namespaceFromHost(requestHost)
    if (namespace === undefined) {
      const sni = (req.socket as Partial<TLSSocket>).servername
      if (typeof sni === 'string') namespace = namespaceFromHost(sni.toLowerCase())
    }
    const resolved = path ? options.directory.resolve(namespace, path) : undefined
    if (!resolved) {
      return {suffix: '', requestHost, namespaceHost: namespace !== undefined ? `${namespace}${suffix}` : requestHost || 'localhost'}
    }
    return {
      entity: resolved.entity,
      suffix: resolved.suffix,
      requestHost,
      namespaceHost: `${resolved.entity.namespace}${suffix}`.toLowerCase(),
    }
  }

  function reason(message: string, trackingId: string, host: string, entityPath: string | undefined): string {
    return formatReason(message, {trackingId, host, entityPath, now: now()})
  }

  function trackingIdOf(parsed: ParsedRelayUrl | undefined): string {
    const given = parsed?.id?.replace(/[^\w.-]/g, '').slice(0, 64)
    return `${given || randomUUID()}_G0`
  }

  function remoteEndpointOf(req: IncomingMessage): RemoteEndpoint | undefined {
    const address = req.socket.remoteAddress
    const port = req.socket.remotePort
    if (!address || port === undefined) return undefined
    return {address: address.replace(/^::ffff:/, ''), port}
  }

  function authenticate(req: IncomingMessage, parsed: ParsedRelayUrl, located: Located, action: AuthAction): AuthResult & {carrierSource?: string} {
    let carrier = findToken(parsed.token, req.headers, action)
    // HTTP mode: `Authorization` is the relay's only when relay auth is on; otherwise it belongs
    // to the application and passes through unevaluated (relay-protocol.md §1.4).
    if (action === 'http' && carrier?.source === 'Authorization' && !located.entity!.requiresClientAuthorization) carrier = undefined
    const result = authorize({
      action,
      carrier,
      entity: located.entity!,
      requestHost: located.requestHost,
      namespaceHost: located.namespaceHost,
      path: parsed.path,
      nowMs: now(),
      graceSeconds,
      earlySeconds: earlySeconds(),
    })
    return carrier ? {...result, carrierSource: carrier.source} : result
  }

  // -------------------------------------------------------------------------------------------
  // Upgrades

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {})
    if (closing) return refuseUpgrade(socket, 503, 'The relay is shutting down')
    let parsed: ParsedRelayUrl
    try {
      parsed = parseRelayTarget(req.url ?? '/')
    } catch {
      return refuseUpgrade(socket, 400, 'The request path is not valid percent-encoding')
    }
    if (!parsed.hc) return refuseUpgrade(socket, 400, 'WebSocket upgrades are served under /$hc/ only; HTTP-mode senders use plain requests')
    const action = parsed.action ?? 'connect'
    if (action === 'accept' || action === 'request') return handleRendezvous(req, socket, head, parsed, action)
    if (action !== 'listen' && action !== 'connect') {
      return refuseUpgrade(socket, 400, `The value of sb-hc-action is not one of listen, connect, accept, request`)
    }
    const located = locate(req, parsed.path)
    const trackingId = trackingIdOf(parsed)
    if (!located.entity) {
      return refuseUpgrade(socket, 404, reason(RelayMessage.EndpointNotFound, trackingId, located.namespaceHost, parsed.path))
    }
    const auth = authenticate(req, parsed, located, action)
    if (!auth.ok) {
      log(`relay: ${action} ${located.entity.namespace}/${located.entity.name} refused ${auth.status}: ${auth.message}`)
      return refuseUpgrade(socket, auth.status, reason(auth.message, trackingId, located.namespaceHost, located.entity.name))
    }
    const bad = badHandshake(req)
    if (bad) return refuseUpgrade(socket, 400, bad)
    if (action === 'listen') return handleListen(req, socket, head, parsed, located as Located & {entity: RelayEntity}, auth, trackingId)
    return handleConnect(req, socket, head, parsed, located as Located & {entity: RelayEntity}, trackingId)
  }

  function handleListen(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    parsed: ParsedRelayUrl,
    located: Located & {entity: RelayEntity},
    auth: AuthResult,
    trackingId: string,
  ): void {
    const {entity} = located
    const key = keyOf(entity.namespace, entity.name)
    const set = listeners.get(key) ?? new Set<ListenerConn>()
    if (listenerCount(entity.namespace, entity.name) >= MAX_LISTENERS_PER_HC) {
      return refuseUpgrade(socket, 403, reason(RelayMessage.ListenerQuota, trackingId, located.namespaceHost, entity.name))
    }
    const expiresAtMs = auth.ok && auth.expiresAtMs !== undefined ? auth.expiresAtMs : now()
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: ListenerConn = {
        id: parsed.id ?? randomUUID(),
        key,
        namespace: entity.namespace,
        name: entity.name,
        path: parsed.path,
        requestHost: located.requestHost,
        namespaceHost: located.namespaceHost,
        ws,
        expiresAtSe: Math.round(expiresAtMs / 1000) + earlySeconds(),
        requests: new Set(),
      }
      set.add(conn)
      listeners.set(key, set)
      log(`relay: listener ${conn.id} on ${entity.namespace}/${entity.name} (${set.size} connected)`)
      scheduleExpiry(conn)
      ws.on('message', (data, isBinary) => onControlMessage(conn, data, isBinary))
      ws.on('error', () => {})
      ws.on('close', () => {
        clearTimeout(conn.expiryTimer)
        set.delete(conn)
        if (set.size === 0 && listeners.get(key) === set) listeners.delete(key)
        for (const pending of conn.requests) {
          if (!pending.rendezvous) failHttp(pending, 502, 'ListenerDisconnected', 'The listener disconnected before it answered the request')
        }
        log(`relay: listener ${conn.id} left ${entity.namespace}/${entity.name} (${set.size} connected)`)
      })
    })
  }

  function scheduleExpiry(conn: ListenerConn): void {
    clearTimeout(conn.expiryTimer)
    const deadline = effectiveExpiryMs(conn.expiresAtSe, earlySeconds()) + graceSeconds * 1000
    const delay = deadline - now()
    if (delay <= 0) {
      closeExpired(conn)
      return
    }
    conn.expiryTimer = setTimeout(() => closeExpired(conn), Math.min(delay, MAX_TIMER_MS))
    conn.expiryTimer.unref()
  }

  function closeExpired(conn: ListenerConn): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return
    log(`relay: listener ${conn.id} on ${conn.namespace}/${conn.name}: token expired, closing 1008`)
    conn.ws.close(RelayCloseCode.PolicyViolation, truncateCloseReason(`${RelayMessage.ExpiredToken}. TrackingId:${conn.id}`))
  }

  function onControlMessage(conn: ListenerConn, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      const awaiting = conn.awaiting
      if (!awaiting) return // stray (e.g. hyco-https' empty frame after body:false): ignored
      conn.awaiting = undefined
      completeHttp(awaiting.pending, awaiting.response, toBuffer(data))
      return
    }
    let message
    try {
      message = parseListenerMessage(toBuffer(data))
    } catch (error) {
      log(`relay: listener ${conn.id}: ignored a malformed control message (${(error as Error).message})`)
      return
    }
    if (message.type === 'unknown') {
      log(`relay: listener ${conn.id}: ignored unknown command ${JSON.stringify(message.name.slice(0, 40))}`)
      return
    }
    if (message.type === 'renewToken') {
      renewToken(conn, renewedTokenText(message.renewToken))
      return
    }
    const response = message.response
    const pending = [...conn.requests].find((p) => p.id === response.requestId)
    if (!pending) {
      log(`relay: listener ${conn.id}: response for unknown request ignored`)
      return
    }
    if (response.body) {
      conn.awaiting = {pending, response}
      restartHttpTimer(pending)
    } else {
      completeHttp(pending, response, Buffer.alloc(0))
    }
  }

  function renewToken(conn: ListenerConn, token: string): void {
    const resolved = options.directory.resolve(conn.namespace, conn.path)
    const result: AuthResult = resolved
      ? authorize({
          action: 'listen',
          carrier: {token, source: 'ServiceBusAuthorization'},
          entity: resolved.entity,
          requestHost: conn.requestHost,
          namespaceHost: conn.namespaceHost,
          path: conn.path,
          nowMs: now(),
          graceSeconds,
          earlySeconds: earlySeconds(),
        })
      : {ok: false, status: 401, message: RelayMessage.EndpointNotFound}
    if (!result.ok || result.expiresAtMs === undefined) {
      const why = result.ok ? RelayMessage.TokenRenewalFailed : result.message
      log(`relay: listener ${conn.id}: renewToken refused (${why}), closing 1008`)
      conn.ws.close(RelayCloseCode.PolicyViolation, truncateCloseReason(`${RelayMessage.TokenRenewalFailed}: ${why}`))
      return
    }
    conn.expiresAtSe = Math.round(result.expiresAtMs / 1000) + earlySeconds()
    scheduleExpiry(conn)
  }

  function handleConnect(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    parsed: ParsedRelayUrl,
    located: Located & {entity: RelayEntity},
    trackingId: string,
  ): void {
    const {entity} = located
    const key = keyOf(entity.namespace, entity.name)
    const listener = pickListener(key, req)
    if (listener === 'none') {
      return refuseUpgrade(socket, 404, reason(RelayMessage.NoListeners, trackingId, located.namespaceHost, entity.name))
    }
    if (listener === 'filtered') {
      return refuseUpgrade(socket, 404, reason(RelayMessage.NoListenerMeetsCriteria, trackingId, located.namespaceHost, entity.name))
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
        rendezvous.delete(id)
        log(`relay: sender ${trackingId} on ${entity.namespace}/${entity.name}: no listener accepted in time`)
        refuseUpgrade(socket, 404, reason(RelayMessage.AcceptTimeout, trackingId, located.namespaceHost, entity.name))
      }, rendezvousTimeoutMs),
    }
    rendezvous.set(id, pending)
    socket.once('close', () => {
      if (rendezvous.get(id) === pending) {
        rendezvous.delete(id)
        clearTimeout(pending.timer)
      }
      clearTimeout(pending.timer)
    })
    if (faults.stallRendezvous) {
      log(`relay: sender ${trackingId}: stalled (fault)`)
      return
    }
    const remoteEndpoint = remoteEndpointOf(req)
    const accept = {
      address: buildAcceptUrl(options.rendezvousBase(), entity.name, id, {suffix: located.suffix, query: parsed.appQuery}),
      id,
      connectHeaders: connectHeaders(req),
      ...(remoteEndpoint ? {remoteEndpoint} : {}),
    }
    listener.ws.send(formatAccept(accept))
  }

  /**
   * A random open listener (§5), narrowed by the hidden routing headers
   * `Microsoft-Relay-AllowedListeners` / `-DisallowedListeners` (listener `sb-hc-id`s, §3.4).
   */
  function pickListener(key: string, req: IncomingMessage): ListenerConn | 'none' | 'filtered' {
    let open = [...(listeners.get(key) ?? [])].filter((c) => c.ws.readyState === c.ws.OPEN)
    if (open.length === 0) return 'none'
    const allowed = idList(req.headers[ALLOWED_LISTENERS])
    const disallowed = idList(req.headers[DISALLOWED_LISTENERS])
    if (allowed) open = open.filter((c) => allowed.has(c.id.toLowerCase()))
    if (disallowed) open = open.filter((c) => !disallowed.has(c.id.toLowerCase()))
    if (open.length === 0) return 'filtered'
    return open[Math.floor(Math.random() * open.length)]!
  }

  function handleRendezvous(req: IncomingMessage, socket: Duplex, head: Buffer, parsed: ParsedRelayUrl, action: 'accept' | 'request'): void {
    const pending = parsed.id === undefined ? undefined : rendezvous.get(parsed.id)
    const host = hostOf(req) || 'localhost'
    if (!pending || pending.kind !== action || (pending.kind === 'request' && (pending.rendezvousUsed || pending.done))) {
      return refuseUpgrade(socket, 403, reason(RelayMessage.RendezvousInvalid, trackingIdOf(parsed), host, parsed.path))
    }
    if (faults.refuseRendezvous) {
      // The listener cannot accept; the sender keeps waiting until its timeout, as it would in Azure.
      if (pending.kind === 'accept') rendezvous.delete(pending.id)
      else pending.rendezvousUsed = true
      return refuseUpgrade(socket, faults.refuseRendezvous, reason('The rendezvous was refused (fault injection)', pending.trackingId, pending.namespaceHost, pending.entityName))
    }
    if (pending.kind === 'request') return attachHttpRendezvous(pending, req, socket, head)
    rendezvous.delete(pending.id)
    clearTimeout(pending.timer)
    const sender = pending.senderSocket
    if (parsed.reject) {
      const status = parsed.reject.statusCode !== undefined && parsed.reject.statusCode >= 200 ? parsed.reject.statusCode : 400
      const description = parsed.reject.statusDescription || 'Rejected by user code'
      log(`relay: sender ${pending.trackingId} rejected by the listener with ${status}`)
      refuseUpgrade(sender, status, description)
      return refuseUpgrade(socket, 410, 'Gone: the connection was rejected and the sender told so')
    }
    const bad = badHandshake(req)
    if (bad) return refuseUpgrade(socket, 400, bad)
    // Both legs are answered here and spliced frame by frame (splice.ts), not through `ws`.
    const protocol = offeredProtocols(req)[0]
    acceptWebSocket(socket, String(req.headers['sec-websocket-key']), protocol)
    if (closing || sender.destroyed || !sender.readable || !sender.writable) {
      socket.end(closeFrame(RelayCloseCode.GoingAway, 'The sender shut down the connection'))
      return
    }
    // The sender gets the subprotocol its listener chose (when it offered any).
    acceptWebSocket(sender, String(pending.senderReq.headers['sec-websocket-key']), offeredProtocols(pending.senderReq).length > 0 ? protocol : undefined)
    log(`relay: sender ${pending.trackingId} connected${protocol ? ` (subprotocol ${protocol})` : ''}`)
    const splice = spliceWebSockets(sender, pending.senderHead, socket, head, {closeTimeoutMs: options.closeTimeoutMs, onClosed: () => splices.delete(splice)})
    splices.add(splice)
  }

  // -------------------------------------------------------------------------------------------
  // HTTP mode

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    req.on('error', () => {})
    if (closing) return sendJsonError(res, 503, 'ServerBusy', 'The relay is shutting down')
    let parsed: ParsedRelayUrl
    try {
      parsed = parseRelayTarget(req.url ?? '/')
    } catch {
      return sendJsonError(res, 400, 'BadRequest', 'The request path is not valid percent-encoding')
    }
    if (parsed.hc) return sendJsonError(res, 400, 'BadRequest', 'Paths under /$hc/ take WebSocket upgrades only')
    const isManagement =
      req.method === 'GET' &&
      parsed.query.has('api-version') &&
      (String(req.headers['x-process-at'] ?? '').toLowerCase() === 'servicebus' || locate(req, parsed.path).suffix === '')
    if (isManagement) return handleManagement(req, res, parsed)
    return handleHttpSender(req, res, parsed)
  }

  function handleManagement(req: IncomingMessage, res: ServerResponse, parsed: ParsedRelayUrl): void {
    const located = locate(req, parsed.path)
    const trackingId = trackingIdOf(undefined)
    const fail = (status: number, message: string): void => {
      const text = reason(message, trackingId, located.namespaceHost, located.entity?.name ?? parsed.path)
      res.writeHead(status, sanitizeReasonPhrase(text), {'Content-Type': 'application/xml; charset=utf-8'})
      res.end(managementErrorXml(status, text))
    }
    if (!located.entity || located.suffix !== '') return fail(404, RelayMessage.EndpointNotFound)
    const auth = authenticate(req, parsed, located, 'management')
    if (!auth.ok) return fail(auth.status, auth.message)
    const {entity} = located
    const body = hybridConnectionEntryXml(entity, located.namespaceHost, listenerCount(entity.namespace, entity.name))
    res.writeHead(200, {'Content-Type': 'application/atom+xml;type=entry;charset=utf-8'})
    res.end(body)
  }

  function handleHttpSender(req: IncomingMessage, res: ServerResponse, parsed: ParsedRelayUrl): void {
    const located = locate(req, parsed.path)
    const trackingId = trackingIdOf(parsed)
    if (!located.entity) {
      return sendJsonError(res, 404, 'EndpointNotFound', reason(RelayMessage.EndpointNotFound, trackingId, located.namespaceHost, parsed.path))
    }
    const entity = located.entity
    const auth = authenticate(req, parsed, located, 'http')
    if (!auth.ok) {
      const code = auth.status === 401 ? 'TokenMissingOrInvalid' : 'Forbidden'
      return sendJsonError(res, auth.status, code, reason(auth.message, trackingId, located.namespaceHost, entity.name))
    }
    const listener = pickListener(keyOf(entity.namespace, entity.name), req)
    if (listener === 'none') {
      return sendJsonError(res, 502, 'BadGateway', reason(RelayMessage.NoListeners, trackingId, located.namespaceHost, entity.name))
    }
    if (listener === 'filtered') {
      return sendJsonError(res, 404, 'EndpointNotFound', reason(RelayMessage.NoListenerMeetsCriteria, trackingId, located.namespaceHost, entity.name))
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
      dispatchHttp(req, res, parsed, located as Located & {entity: RelayEntity}, listener, body, auth.ok && auth.carrierSource === 'Authorization', trackingId)
    })
  }

  function dispatchHttp(
    req: IncomingMessage,
    res: ServerResponse,
    parsed: ParsedRelayUrl,
    located: Located & {entity: RelayEntity},
    listener: ListenerConn,
    body: Buffer,
    dropAuthorization: boolean,
    trackingId: string,
  ): void {
    if (listener.ws.readyState !== listener.ws.OPEN) {
      return sendJsonError(res, 502, 'BadGateway', reason(RelayMessage.NoListeners, trackingId, located.namespaceHost, located.entity.name))
    }
    const id = `${trackingId}${newId()}`
    const query = parsed.appQuery.toString()
    const requestHeaders = forwardedRequestHeaders(req, located.namespaceHost, dropAuthorization)
    const remoteEndpoint = remoteEndpointOf(req)
    const command: RequestCommand = {
      address: buildRequestRendezvousUrl(options.rendezvousBase(), located.entity.name, id),
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
    pendingHttp.add(pending)
    listener.requests.add(pending)
    rendezvous.set(id, pending)
    restartHttpTimer(pending)
    res.once('close', () => {
      if (!pending.done) finishHttp(pending) // the sender went away
    })
    if (onControl) {
      // The command and its body go out back to back: nothing can interleave (§2.2).
      listener.ws.send(formatRequest(command))
      if (command.body) listener.ws.send(body, {binary: true})
    } else {
      listener.ws.send(formatRequest({address: command.address, id}))
    }
  }

  function attachHttpRendezvous(pending: PendingHttp, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    pending.rendezvousUsed = true
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (pending.done) {
        ws.close(RelayCloseCode.GoingAway, 'The request is no longer pending')
        return
      }
      pending.rendezvous = ws
      relayed.add(ws)
      ws.on('error', () => {})
      ws.on('message', (data, isBinary) => onRendezvousMessage(pending, data, isBinary))
      ws.on('close', () => {
        relayed.delete(ws)
        if (!pending.done) {
          // The listener closed the rendezvous without answering: drop the sender (§2.7).
          failHttp(pending, 502, 'ListenerDisconnected', 'The listener closed the rendezvous before it answered the request')
        }
      })
      if (!pending.onControl) {
        ws.send(formatRequest(pending.command))
        if (pending.command.body) ws.send(pending.body, {binary: true})
      }
    })
  }

  function onRendezvousMessage(pending: PendingHttp, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      const response = pending.awaiting
      if (!response) return // stray empty frame
      pending.awaiting = undefined
      completeHttp(pending, response, toBuffer(data))
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
      restartHttpTimer(pending)
    } else {
      completeHttp(pending, message.response, Buffer.alloc(0))
    }
  }

  function restartHttpTimer(pending: PendingHttp): void {
    clearTimeout(pending.timer)
    pending.timer = setTimeout(() => {
      failHttp(
        pending,
        504,
        'GatewayTimeout',
        reason(
          'The request was routed to the listener but the listener did not respond in the required time',
          pending.trackingId,
          pending.namespaceHost,
          pending.entityName,
        ),
      )
    }, httpTimeoutMs)
  }

  function completeHttp(pending: PendingHttp, response: ResponseCommand, body: Buffer): void {
    if (pending.done) return
    const {res} = pending
    finishHttp(pending)
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
      log(`relay: bad response from listener: ${(error as Error).message}`)
      if (!res.headersSent) {
        for (const name of res.getHeaderNames()) res.removeHeader(name)
        sendJsonError(res, 502, 'BadGateway', 'The listener sent a response the relay could not forward')
      } else {
        res.destroy()
      }
    }
  }

  function failHttp(pending: PendingHttp, status: number, code: string, message: string): void {
    if (pending.done) return
    finishHttp(pending)
    if (status === 502 && pending.res.headersSent) pending.res.destroy()
    else sendJsonError(pending.res, status, code, message)
  }

  function finishHttp(pending: PendingHttp): void {
    pending.done = true
    clearTimeout(pending.timer)
    pendingHttp.delete(pending)
    pending.listener.requests.delete(pending)
    if (pending.listener.awaiting?.pending === pending) pending.listener.awaiting = undefined
    rendezvous.delete(pending.id)
    const ws = pending.rendezvous
    if (ws && ws.readyState === ws.OPEN) ws.close(RelayCloseCode.Normal, 'Response delivered')
  }

  // -------------------------------------------------------------------------------------------
  // Runtime

  /** Open control channels only: one whose close handshake has begun no longer counts. */
  function listenerCount(namespace: string, name: string): number {
    let n = 0
    for (const conn of listeners.get(keyOf(namespace, name)) ?? []) if (conn.ws.readyState === conn.ws.OPEN) n += 1
    return n
  }

  function matching(namespace?: string, name?: string): ListenerConn[] {
    const out: ListenerConn[] = []
    for (const set of listeners.values()) {
      for (const conn of set) {
        if (namespace !== undefined && conn.namespace.toLowerCase() !== namespace.toLowerCase()) continue
        if (name !== undefined && conn.name.toLowerCase() !== name.toLowerCase()) continue
        if (conn.ws.readyState === conn.ws.OPEN) out.push(conn)
      }
    }
    return out
  }

  return {
    isRelayRequest(req) {
      const target = req.url ?? '/'
      if (/^\/+(\$|%24)hc(\/|\?|$)/i.test(target)) return true
      if (namespaceFromHost(hostOf(req)) !== undefined) return true
      const sni = (req.socket as Partial<TLSSocket>).servername
      if (typeof sni === 'string' && namespaceFromHost(sni.toLowerCase()) !== undefined) return true
      if (String(req.headers['x-process-at'] ?? '').toLowerCase() === 'servicebus') return true
      // HTTP-mode senders on a bare IP: only relay clients carry these (ARM never does).
      return req.headers.servicebusauthorization !== undefined || /[?&]sb-hc-token=/i.test(target)
    },
    handleUpgrade,
    handleRequest,
    setFaults(next) {
      faults = {...next}
      log(`relay: faults ${JSON.stringify(faults)}`)
      for (const conn of matching()) scheduleExpiry(conn)
    },
    dropListeners(namespace, name) {
      const victims = matching(namespace, name)
      for (const conn of victims) conn.ws.terminate()
      if (victims.length) log(`relay: dropped ${victims.length} listener(s) (fault)`)
      return victims.length
    },
    listenerCount,
    entityDeleted(namespace, name) {
      for (const conn of matching(namespace, name)) {
        conn.ws.close(RelayCloseCode.GoingAway, truncateCloseReason(`${RelayMessage.EntityDeleted}. TrackingId:${conn.id}`))
      }
    },
    async close() {
      closing = true
      for (const pending of [...rendezvous.values()]) {
        if (pending.kind === 'accept') {
          clearTimeout(pending.timer)
          refuseUpgrade(pending.senderSocket, 503, 'The relay is shutting down')
        }
      }
      rendezvous.clear()
      for (const pending of [...pendingHttp]) failHttp(pending, 503, 'ServerBusy', 'The relay is shutting down')
      const sockets = [...[...listeners.values()].flatMap((set) => [...set].map((c) => c.ws)), ...relayed]
      await Promise.all([
        ...[...splices].map((splice) => splice.close(RelayCloseCode.GoingAway, 'The relay is shutting down')),
        ...sockets.map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === ws.CLOSED) return resolve()
              ws.once('close', () => resolve())
              ws.close(RelayCloseCode.GoingAway, 'The relay is shutting down')
              setTimeout(() => ws.terminate(), 1000).unref()
            }),
        ),
      ])
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}

/** Every raw header of the sender's upgrade, original casing, minus the token (§2.3). */
function connectHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!
    if (name.toLowerCase() === 'servicebusauthorization') continue
    const existing = Object.keys(out).find((k) => k.toLowerCase() === name.toLowerCase())
    if (existing) out[existing] = `${out[existing]}, ${raw[i + 1]}`
    else out[name] = raw[i + 1]!
  }
  return out
}

/** Sender headers for `requestHeaders`: no hop-by-hop headers, no auth material, `Via` extended (§2.6, §3.4). */
function forwardedRequestHeaders(req: IncomingMessage, namespaceHost: string, dropAuthorization: boolean): Record<string, string> {
  const out: Record<string, string> = {}
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || lower === 'servicebusauthorization' || (dropAuthorization && lower === 'authorization')) continue
    if (lower === ALLOWED_LISTENERS || lower === DISALLOWED_LISTENERS) continue
    const existing = Object.keys(out).find((k) => k.toLowerCase() === lower)
    if (existing) out[existing] = `${out[existing]}, ${raw[i + 1]}`
    else out[name] = raw[i + 1]!
  }
  const viaKey = Object.keys(out).find((k) => k.toLowerCase() === 'via')
  if (viaKey) out[viaKey] = `${out[viaKey]}, 1.1 ${namespaceHost}`
  else out.Via = `1.1 ${namespaceHost}`
  return out
}

function badHandshake(req: IncomingMessage): string | undefined {
  if (req.method !== 'GET') return 'A WebSocket handshake must use GET'
  if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return 'The Upgrade header must be "websocket"'
  const key = req.headers['sec-websocket-key']
  if (typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key)) return 'Missing or invalid Sec-WebSocket-Key header'
  const version = req.headers['sec-websocket-version']
  if (version !== '13' && version !== '8') return 'Missing or invalid Sec-WebSocket-Version header'
  if (offeredProtocols(req).some((p) => !TOKEN.test(p))) return 'Invalid Sec-WebSocket-Protocol header'
  return undefined
}

/** An HTTP token (RFC 7230 §3.2.6), the syntax of a subprotocol name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** The subprotocols a WebSocket handshake offers, in order. */
function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol']
  if (header === undefined) return []
  return String(header)
    .split(',')
    .map((p) => p.trim())
}

function sendJsonError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const body = JSON.stringify({error: {code, message}})
  res.writeHead(status, sanitizeReasonPhrase(message.split('. TrackingId:')[0] ?? message), {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  })
  res.end(body)
}

function defaultReason(status: number): string {
  return STATUS_CODES[status] ?? 'Status'
}
