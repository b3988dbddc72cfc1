import {describeName, RelayProtocolError} from './protocol-errors.js'

/**
 * Control-channel commands (relay-protocol.md §2): `accept` and `request` from the service,
 * `renewToken` and `response` from the listener. Strict parsers for incoming JSON (they throw
 * only RelayProtocolError) and formatters for outgoing JSON.
 */

export interface RemoteEndpoint {
  address: string
  port: number
}

/** Service → listener: a sender waits; dial `address` to accept it (§2.3). */
export interface AcceptCommand {
  address: string
  id: string
  /** Every header of the sender's upgrade request, original casing. */
  connectHeaders: Record<string, string>
  remoteEndpoint?: RemoteEndpoint
}

/**
 * Service → listener: an HTTP request (§2.6). On the control channel every field is present
 * (`method` and `body` included; if `body` is true one binary message follows). Rendezvous-only
 * requests carry only `address` and `id`: the listener dials `address` to receive the request.
 */
export interface RequestCommand {
  address: string
  id: string
  requestTarget?: string
  method?: string
  remoteEndpoint?: RemoteEndpoint
  requestHeaders?: Record<string, string>
  body?: boolean
}

/** Listener → service: the answer to a `request` (§2.7). */
export interface ResponseCommand {
  requestId: string
  /** Always a number here; the wire may carry a string. */
  statusCode: number
  statusDescription?: string
  responseHeaders?: Record<string, string>
  /** True when exactly one binary body message follows. */
  body: boolean
}

/** Listener → service: a fresh token for the control channel (§2.8). */
export interface RenewTokenCommand {
  token: string
}

/** What a listener can receive on its control channel or on an HTTP rendezvous. */
export type ServiceMessage =
  | {type: 'accept'; accept: AcceptCommand}
  | {type: 'request'; request: RequestCommand}
  | {type: 'unknown'; name: string}

/** What the service can receive from a listener (control channel or HTTP rendezvous). */
export type ListenerMessage =
  | {type: 'renewToken'; renewToken: RenewTokenCommand}
  | {type: 'response'; response: ResponseCommand}
  | {type: 'unknown'; name: string}

/** Control JSON should stay well under 64 KB (the .NET listener's receive buffer). */
export const MAX_CONTROL_MESSAGE_BYTES = 256 * 1024

type Json = Record<string, unknown>

function splitCommand(text: string | Buffer): {name: string; body: unknown} {
  const raw = typeof text === 'string' ? text : text.toString('utf8')
  if (Buffer.byteLength(raw, 'utf8') > MAX_CONTROL_MESSAGE_BYTES) {
    throw new RelayProtocolError('MessageTooLarge', `A control message of ${Buffer.byteLength(raw, 'utf8')} bytes exceeds ${MAX_CONTROL_MESSAGE_BYTES} bytes.`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new RelayProtocolError('InvalidJson', 'A control message is not valid JSON.')
  }
  if (!isPlainObject(parsed)) throw new RelayProtocolError('NotACommand', 'A control message is not a JSON object.')
  const keys = Object.keys(parsed)
  if (keys.length === 0) throw new RelayProtocolError('NotACommand', 'A control message is an empty JSON object.')
  if (keys.length > 1) throw new RelayProtocolError('AmbiguousCommand', `A control message has ${keys.length} top-level keys; exactly one is expected.`)
  const name = keys[0]!
  return {name, body: parsed[name]}
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function objectOf(command: string, body: unknown): Json {
  if (!isPlainObject(body)) throw new RelayProtocolError('InvalidField', `The "${command}" command is not a JSON object.`)
  return body
}

function requiredString(command: string, body: Json, field: string, allowEmpty = false): string {
  const value = body[field]
  if (value === undefined || value === null) throw new RelayProtocolError('MissingField', `The "${command}" command has no "${field}".`)
  if (typeof value !== 'string') throw new RelayProtocolError('InvalidField', `The "${command}" command's "${field}" is not a string.`)
  if (!allowEmpty && value === '') throw new RelayProtocolError('InvalidField', `The "${command}" command's "${field}" is empty.`)
  return value
}

function optionalString(command: string, body: Json, field: string): string | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new RelayProtocolError('InvalidField', `The "${command}" command's "${field}" is not a string.`)
  return value
}

function optionalBoolean(command: string, body: Json, field: string): boolean | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') throw new RelayProtocolError('InvalidField', `The "${command}" command's "${field}" is not true or false.`)
  return value
}

function headerMap(command: string, body: Json, field: string): Record<string, string> | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (!isPlainObject(value)) throw new RelayProtocolError('InvalidField', `The "${command}" command's "${field}" is not an object of header names to values.`)
  const out: Record<string, string> = {}
  for (const [name, v] of Object.entries(value)) {
    if (!isHeaderName(name)) throw new RelayProtocolError('InvalidField', `The "${command}" command's "${field}" has an invalid header name ${describeName(name)}.`)
    if (typeof v === 'string') out[name] = v
    else if (typeof v === 'number' || typeof v === 'boolean') out[name] = String(v)
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[name] = v.join(', ')
    else throw new RelayProtocolError('InvalidField', `The "${command}" command's header ${describeName(name)} is not a string.`)
    if (/[\r\n\0]/.test(out[name]!)) throw new RelayProtocolError('InvalidField', `The "${command}" command's header ${describeName(name)} contains a line break.`)
  }
  return out
}

const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** RFC 7230 token (a valid HTTP header name). */
export function isHeaderName(name: string): boolean {
  return TOKEN_CHARS.test(name)
}

function remoteEndpointOf(command: string, body: Json): RemoteEndpoint | undefined {
  const value = body.remoteEndpoint
  if (value === undefined || value === null) return undefined
  if (!isPlainObject(value)) throw new RelayProtocolError('InvalidField', `The "${command}" command's "remoteEndpoint" is not an object.`)
  const address = value.address
  const port = value.port
  if (typeof address !== 'string') throw new RelayProtocolError('InvalidField', `The "${command}" command's "remoteEndpoint.address" is not a string.`)
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RelayProtocolError('InvalidField', `The "${command}" command's "remoteEndpoint.port" is not a port number.`)
  }
  return {address, port}
}

function rendezvousAddress(command: string, body: Json): string {
  const address = requiredString(command, body, 'address')
  let url: URL
  try {
    url = new URL(address)
  } catch {
    throw new RelayProtocolError('InvalidUrl', `The "${command}" command's "address" is not a URL.`)
  }
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') {
    throw new RelayProtocolError('InvalidUrl', `The "${command}" command's "address" is not a ws:// or wss:// URL.`)
  }
  return address
}

/**
 * Parses an HTTP status code given as a number or a numeric string (hyco-https and .NET send
 * numbers, the protocol doc shows strings). Returns undefined unless it is an integer 100-599.
 */
export function parseStatusCode(value: unknown): number | undefined {
  let n: number
  if (typeof value === 'number') n = value
  else if (typeof value === 'string' && /^\s*\d{3}\s*$/.test(value)) n = Number(value)
  else return undefined
  return Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined
}

function parseAccept(body: unknown): AcceptCommand {
  const o = objectOf('accept', body)
  const address = rendezvousAddress('accept', o)
  const id = requiredString('accept', o, 'id')
  const connectHeaders = headerMap('accept', o, 'connectHeaders') ?? {}
  const remoteEndpoint = remoteEndpointOf('accept', o)
  return remoteEndpoint ? {address, id, connectHeaders, remoteEndpoint} : {address, id, connectHeaders}
}

function parseRequest(body: unknown): RequestCommand {
  const o = objectOf('request', body)
  const out: RequestCommand = {address: rendezvousAddress('request', o), id: requiredString('request', o, 'id')}
  const requestTarget = optionalString('request', o, 'requestTarget')
  if (requestTarget !== undefined) {
    if (!requestTarget.startsWith('/') || /[\s\0]/.test(requestTarget)) {
      throw new RelayProtocolError('InvalidField', 'The "request" command\'s "requestTarget" is not an origin-form request target.')
    }
    out.requestTarget = requestTarget
  }
  const method = optionalString('request', o, 'method')
  if (method !== undefined) {
    if (!TOKEN_CHARS.test(method)) throw new RelayProtocolError('InvalidField', 'The "request" command\'s "method" is not an HTTP method.')
    out.method = method
  }
  const remoteEndpoint = remoteEndpointOf('request', o)
  if (remoteEndpoint) out.remoteEndpoint = remoteEndpoint
  const requestHeaders = headerMap('request', o, 'requestHeaders')
  if (requestHeaders) out.requestHeaders = requestHeaders
  const bodyFlag = optionalBoolean('request', o, 'body')
  if (bodyFlag !== undefined) out.body = bodyFlag
  return out
}

function parseResponse(body: unknown): ResponseCommand {
  const o = objectOf('response', body)
  const requestId = requiredString('response', o, 'requestId')
  if (o.statusCode === undefined || o.statusCode === null) throw new RelayProtocolError('MissingField', 'The "response" command has no "statusCode".')
  const statusCode = parseStatusCode(o.statusCode)
  if (statusCode === undefined) throw new RelayProtocolError('InvalidField', 'The "response" command\'s "statusCode" is not an HTTP status (100-599).')
  const out: ResponseCommand = {requestId, statusCode, body: optionalBoolean('response', o, 'body') ?? false}
  const statusDescription = optionalString('response', o, 'statusDescription')
  if (statusDescription !== undefined) out.statusDescription = statusDescription
  const responseHeaders = headerMap('response', o, 'responseHeaders')
  if (responseHeaders) out.responseHeaders = responseHeaders
  return out
}

function parseRenewToken(body: unknown): RenewTokenCommand {
  const o = objectOf('renewToken', body)
  return {token: requiredString('renewToken', o, 'token')}
}

/**
 * Parses a text message the service sent to a listener. Unknown commands come back as
 * `{type: 'unknown'}` (the .NET listener ignores them); malformed ones throw RelayProtocolError.
 */
export function parseServiceMessage(text: string | Buffer): ServiceMessage {
  const {name, body} = splitCommand(text)
  if (name === 'accept') return {type: 'accept', accept: parseAccept(body)}
  if (name === 'request') return {type: 'request', request: parseRequest(body)}
  return {type: 'unknown', name}
}

/**
 * Parses a text message a listener sent to the service. Unknown commands come back as
 * `{type: 'unknown'}`; malformed ones throw RelayProtocolError.
 */
export function parseListenerMessage(text: string | Buffer): ListenerMessage {
  const {name, body} = splitCommand(text)
  if (name === 'renewToken') return {type: 'renewToken', renewToken: parseRenewToken(body)}
  if (name === 'response') return {type: 'response', response: parseResponse(body)}
  return {type: 'unknown', name}
}

/** True when a request command arrived on the control channel (not rendezvous-only), see §2.6. */
export function isControlChannelRequest(request: RequestCommand): boolean {
  return request.method !== undefined && request.body !== undefined
}

export function formatAccept(accept: AcceptCommand): string {
  return JSON.stringify({accept})
}

export function formatRequest(request: RequestCommand): string {
  return JSON.stringify({request})
}

export function formatResponse(response: ResponseCommand): string {
  return JSON.stringify({response})
}

export function formatRenewToken(token: string): string {
  return JSON.stringify({renewToken: {token}})
}

/**
 * The token of a renewToken command: clients send it raw, the doc says URL-encoded (§2.8).
 */
export function renewedTokenText(command: RenewTokenCommand): string {
  const token = command.token.trim()
  if (/^SharedAccessSignature%20/i.test(token)) {
    try {
      return decodeURIComponent(token)
    } catch {
      return token
    }
  }
  return token
}
