import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Duplex} from 'node:stream'

import {WebSocketServer} from 'ws'

import {HTTP_RESPONSE_TIMEOUT_MS, parseRelayTarget, RelayCloseCode, RelayMessage, RENDEZVOUS_TIMEOUT_MS, sanitizeReasonPhrase, truncateCloseReason, type ParsedRelayUrl} from '../../lib/relay/protocol.js'
import type {RelayBroker, RelayBrokerOptions, RelayEntity} from '../contracts.js'
import type {BrokerContext, Located} from './context.js'
import {badHandshake, sendJsonError} from './headers.js'
import {HttpSenders} from './http-sender.js'
import {ListenerRegistry} from './listeners.js'
import {hybridConnectionEntryXml, managementErrorXml} from './management.js'
import {refuseUpgrade} from './refuse.js'
import {Rendezvous} from './rendezvous.js'
import {authenticate, isRelayRequest, locate, reason, trackingIdOf} from './routing.js'

/**
 * The relay data plane of the emulator (relay-protocol.md §8): listener control channels,
 * WebSocket senders held until a listener dials the rendezvous, HTTP-mode senders relayed as
 * `request`/`response` commands, SAS validation, the runtime management GET, and the relay
 * faults. One instance serves every namespace of the emulator; the ARM state is reached only
 * through `options.directory`.
 *
 * This module routes each request to its part:
 *  - routing.ts: which namespace and hybrid connection a request addresses, reasons, SAS;
 *  - listeners.ts: control channels (listen, token expiry and renewal, listener choice);
 *  - rendezvous.ts: WebSocket senders, accept/reject, the frame splice (splice.ts);
 *  - http-sender.ts: HTTP sender mode;
 *  - headers.ts: what headers become on the way, handshake checks, JSON errors;
 *  - management.ts: the runtime management GET's XML.
 */

const DEFAULT_GRACE_SECONDS = 300

export function createRelayBroker(options: RelayBrokerOptions): RelayBroker {
  const ctx: BrokerContext = {
    options,
    now: options.now ?? Date.now,
    log: options.log ?? (() => {}),
    suffix: options.relaySuffix.toLowerCase(),
    graceSeconds: options.tokenGraceSeconds ?? DEFAULT_GRACE_SECONDS,
    faults: {},
    closing: false,
    wss: new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols(protocols) {
        const [firstOffered] = protocols
        return firstOffered ?? false
      },
    }),
    rendezvous: new Map(),
  }
  const listeners = new ListenerRegistry(ctx)
  const http = new HttpSenders(ctx, listeners, options.httpResponseTimeoutMs ?? HTTP_RESPONSE_TIMEOUT_MS)
  listeners.events = http
  const rendezvous = new Rendezvous(ctx, listeners, http, options.rendezvousTimeoutMs ?? RENDEZVOUS_TIMEOUT_MS)

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {})
    if (ctx.closing) return refuseUpgrade(socket, 503, 'The relay is shutting down')
    let parsed: ParsedRelayUrl
    try {
      parsed = parseRelayTarget(req.url ?? '/')
    } catch {
      return refuseUpgrade(socket, 400, 'The request path is not valid percent-encoding')
    }
    if (!parsed.hc) return refuseUpgrade(socket, 400, 'WebSocket upgrades are served under /$hc/ only; HTTP-mode senders use plain requests')
    const action = parsed.action ?? 'connect'
    if (action === 'accept' || action === 'request') return rendezvous.dial(req, socket, head, parsed, action)
    if (action !== 'listen' && action !== 'connect') {
      return refuseUpgrade(socket, 400, `The value of sb-hc-action is not one of listen, connect, accept, request`)
    }
    const located = locate(ctx, req, parsed.path)
    const trackingId = trackingIdOf(parsed)
    if (!located.entity) {
      return refuseUpgrade(socket, 404, reason(ctx, RelayMessage.EndpointNotFound, trackingId, located.namespaceHost, parsed.path))
    }
    const auth = authenticate(ctx, req, parsed, located, action)
    if (!auth.ok) {
      ctx.log(`relay: ${action} ${located.entity.namespace}/${located.entity.name} refused ${auth.status}: ${auth.message}`)
      return refuseUpgrade(socket, auth.status, reason(ctx, auth.message, trackingId, located.namespaceHost, located.entity.name))
    }
    const bad = badHandshake(req)
    if (bad) return refuseUpgrade(socket, 400, bad)
    const entityLocated = located as Located & {entity: RelayEntity}
    if (action === 'listen') return listeners.handleListen(req, socket, head, parsed, entityLocated, auth, trackingId)
    return rendezvous.connect(req, socket, parsed, entityLocated, head, trackingId)
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    req.on('error', () => {})
    if (ctx.closing) return sendJsonError(res, 503, 'ServerBusy', 'The relay is shutting down')
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
      (String(req.headers['x-process-at'] ?? '').toLowerCase() === 'servicebus' || locate(ctx, req, parsed.path).suffix === '')
    if (isManagement) return handleManagement(req, res, parsed)
    return http.handle(req, res, parsed)
  }

  /** The runtime management GET (relay-protocol.md §7.2): the entity as Atom XML. */
  function handleManagement(req: IncomingMessage, res: ServerResponse, parsed: ParsedRelayUrl): void {
    const located = locate(ctx, req, parsed.path)
    const trackingId = trackingIdOf(undefined)
    const fail = (status: number, message: string): void => {
      const text = reason(ctx, message, trackingId, located.namespaceHost, located.entity?.name ?? parsed.path)
      res.writeHead(status, sanitizeReasonPhrase(text), {'Content-Type': 'application/xml; charset=utf-8'})
      res.end(managementErrorXml(status, text))
    }
    if (!located.entity || located.suffix !== '') return fail(404, RelayMessage.EndpointNotFound)
    const auth = authenticate(ctx, req, parsed, located, 'management')
    if (!auth.ok) return fail(auth.status, auth.message)
    const {entity} = located
    const body = hybridConnectionEntryXml(entity, located.namespaceHost, listeners.count(entity.namespace, entity.name))
    res.writeHead(200, {'Content-Type': 'application/atom+xml;type=entry;charset=utf-8'})
    res.end(body)
  }

  return {
    isRelayRequest: (req) => isRelayRequest(ctx, req),
    handleUpgrade,
    handleRequest,
    setFaults(next) {
      ctx.faults = {...next}
      ctx.log(`relay: faults ${JSON.stringify(ctx.faults)}`)
      for (const conn of listeners.matching()) listeners.scheduleExpiry(conn)
    },
    tokenCounters: () => ({...listeners.tokenCounters}),
    dropListeners(namespace, name) {
      const victims = listeners.matching(namespace, name)
      for (const conn of victims) conn.ws.terminate()
      if (victims.length) ctx.log(`relay: dropped ${victims.length} listener(s) (fault)`)
      return victims.length
    },
    listenerCount: (namespace, name) => listeners.count(namespace, name),
    entityDeleted(namespace, name) {
      for (const conn of listeners.matching(namespace, name)) {
        conn.ws.close(RelayCloseCode.GoingAway, truncateCloseReason(`${RelayMessage.EntityDeleted}. TrackingId:${conn.id}`))
      }
    },
    async close() {
      ctx.closing = true
      // Held senders are refused at once (synchronously); spliced pairs close meanwhile.
      const splicesClosed = rendezvous.close()
      http.failAll()
      const sockets = [...listeners.all().map((c) => c.ws), ...http.relayed]
      await Promise.all([
        splicesClosed,
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
      await new Promise<void>((resolve) => ctx.wss.close(() => resolve()))
    },
  }
}
