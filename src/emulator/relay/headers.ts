import {STATUS_CODES, type IncomingMessage, type ServerResponse} from 'node:http'

import type {RawData} from 'ws'

import {sanitizeReasonPhrase} from '../../lib/relay/protocol.js'

/**
 * Header handling of the broker: what a sender's headers become in `accept` and `request`
 * (relay-protocol.md §2.3, §2.6, §3.4), the hidden listener-routing headers, WebSocket
 * handshake validation, and the service's JSON error answers.
 */

export const ALLOWED_LISTENERS = 'microsoft-relay-allowedlisteners'
export const DISALLOWED_LISTENERS = 'microsoft-relay-disallowedlisteners'

/** RFC 7230 connection headers that never travel in `requestHeaders`/`responseHeaders` (§2.6). */
export const HOP_BY_HOP = new Set([
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

/** A comma-separated list of listener ids, lower-case (the routing headers). */
export function idList(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  const text = Array.isArray(value) ? value.join(',') : value
  return new Set(text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))
}

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}

/** Every raw header of the sender's upgrade, original casing, minus the token (§2.3). */
export function connectHeaders(req: IncomingMessage): Record<string, string> {
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
export function forwardedRequestHeaders(req: IncomingMessage, namespaceHost: string, dropAuthorization: boolean): Record<string, string> {
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

/** What is wrong with a WebSocket handshake, or undefined. */
export function badHandshake(req: IncomingMessage): string | undefined {
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
export function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol']
  if (header === undefined) return []
  return String(header)
    .split(',')
    .map((p) => p.trim())
}

/** The service's JSON error answer: `{"error":{"code","message"}}` with the message as reason phrase. */
export function sendJsonError(res: ServerResponse, status: number, code: string, message: string): void {
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

export function defaultReason(status: number): string {
  return STATUS_CODES[status] ?? 'Status'
}
