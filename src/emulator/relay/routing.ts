import {randomUUID} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import type {TLSSocket} from 'node:tls'

import {formatReason, type ParsedRelayUrl, type RemoteEndpoint} from '../../lib/relay/protocol.js'
import {authorize, findToken, type AuthAction, type AuthResult} from './auth.js'
import {type BrokerContext, earlySeconds, type Located} from './context.js'

/**
 * Routing: which namespace and hybrid connection a request addresses (Host header, then SNI,
 * then the directory's longest match), the service's reason phrases with a tracking id, and the
 * SAS check of a request against its entity (relay-protocol.md §1, §4.4).
 */

/** The request's Host: lower-case, without the port. */
export function hostOf(req: IncomingMessage): string {
  const raw = String(req.headers.host ?? '').trim().toLowerCase()
  if (raw.startsWith('[')) return raw.slice(0, raw.indexOf(']') + 1)
  return raw.replace(/:\d*$/, '')
}

export function namespaceFromHost(ctx: BrokerContext, host: string): string | undefined {
  const {suffix} = ctx
  if (suffix && host.endsWith(suffix) && host.length > suffix.length) return host.slice(0, -suffix.length)
  return undefined
}

export function locate(ctx: BrokerContext, req: IncomingMessage, path: string): Located {
  const requestHost = hostOf(req)
  let namespace = namespaceFromHost(ctx, requestHost)
  if (namespace === undefined) {
    const sni = (req.socket as Partial<TLSSocket>).servername
    if (typeof sni === 'string') namespace = namespaceFromHost(ctx, sni.toLowerCase())
  }
  const resolved = path ? ctx.options.directory.resolve(namespace, path) : undefined
  if (!resolved) {
    return {suffix: '', requestHost, namespaceHost: namespace !== undefined ? `${namespace}${ctx.suffix}` : requestHost || 'localhost'}
  }
  return {
    entity: resolved.entity,
    suffix: resolved.suffix,
    requestHost,
    namespaceHost: `${resolved.entity.namespace}${ctx.suffix}`.toLowerCase(),
  }
}

/** True when a request belongs to the relay (see RelayBroker.isRelayRequest). */
export function isRelayRequest(ctx: BrokerContext, req: IncomingMessage): boolean {
  const target = req.url ?? '/'
  if (/^\/+(\$|%24)hc(\/|\?|$)/i.test(target)) return true
  if (namespaceFromHost(ctx, hostOf(req)) !== undefined) return true
  const sni = (req.socket as Partial<TLSSocket>).servername
  if (typeof sni === 'string' && namespaceFromHost(ctx, sni.toLowerCase()) !== undefined) return true
  if (String(req.headers['x-process-at'] ?? '').toLowerCase() === 'servicebus') return true
  // HTTP-mode senders on a bare IP: only relay clients carry these (ARM never does).
  return req.headers.servicebusauthorization !== undefined || /[?&]sb-hc-token=/i.test(target)
}

/** A reason phrase in the service's format (§3.2). */
export function reason(ctx: BrokerContext, message: string, trackingId: string, host: string, entityPath: string | undefined): string {
  return formatReason(message, {trackingId, host, entityPath, now: ctx.now()})
}

export function trackingIdOf(parsed: ParsedRelayUrl | undefined): string {
  const given = parsed?.id?.replace(/[^\w.-]/g, '').slice(0, 64)
  return `${given || randomUUID()}_G0`
}

export function remoteEndpointOf(req: IncomingMessage): RemoteEndpoint | undefined {
  const address = req.socket.remoteAddress
  const port = req.socket.remotePort
  if (!address || port === undefined) return undefined
  return {address: address.replace(/^::ffff:/, ''), port}
}

export function authenticate(ctx: BrokerContext, req: IncomingMessage, parsed: ParsedRelayUrl, located: Located, action: AuthAction): AuthResult & {carrierSource?: string} {
  let carrier = findToken(parsed.token, req.headers, action)
  // HTTP mode: `Authorization` is the relay's only when relay auth is on; otherwise it belongs
  // to the application and passes through unevaluated (relay-protocol.md §1.4).
  if (action === 'http' && carrier?.source === 'Authorization' && !located.entity!.requiresClientAuthorization) carrier = undefined
  if (carrier) ctx.options.onToken?.(carrier.token)
  const result = authorize({
    action,
    carrier,
    entity: located.entity!,
    requestHost: located.requestHost,
    namespaceHost: located.namespaceHost,
    path: parsed.path,
    nowMs: ctx.now(),
    graceSeconds: ctx.graceSeconds,
    earlySeconds: earlySeconds(ctx),
  })
  return carrier ? {...result, carrierSource: carrier.source} : result
}
