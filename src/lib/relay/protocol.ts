import {HcctlError, ExitCode} from '../errors.js'

/**
 * The wire vocabulary of Azure Relay Hybrid Connections (relay-protocol.md §1-§3), shared by
 * our clients (listener, sender, agent, forward) and by the emulator's broker, so both ends
 * agree by construction:
 *
 * - control-channel commands (`accept`, `request` from the service; `renewToken`, `response`
 *   from the listener) with strict parsers for incoming JSON and formatters for outgoing JSON;
 * - URL builders for the listen, connect, accept, request, reject, HTTP and management
 *   addresses, and a parser for them;
 * - the service's reason-phrase format and close codes.
 *
 * Everything here is pure (no sockets, no clocks unless given). Parsers never throw anything
 * but RelayProtocolError, whose `code` is stable (see ProtocolErrorCode).
 */

// ---------------------------------------------------------------------------------------------
// Constants

export const HC_PATH_SEGMENT = '$hc'
export const MANAGEMENT_API_VERSION = '2016-07'
/** Max concurrent listeners per hybrid connection (relay-protocol.md §5). */
export const MAX_LISTENERS_PER_HC = 25
/** Request/response bodies on the control channel: at most 64 KB each (§2.6). */
export const CONTROL_BODY_LIMIT = 64 * 1024
/** Header metadata on the control channel: at most 32 KB in total (§2.6). */
export const CONTROL_HEADERS_LIMIT = 32 * 1024
/** How long an accept/request rendezvous address stays valid (§2.4). */
export const RENDEZVOUS_TIMEOUT_MS = 30_000
/** HTTP-mode response deadline (§2.7). */
export const HTTP_RESPONSE_TIMEOUT_MS = 60_000

export type HcAction = 'listen' | 'connect' | 'accept' | 'request'
export const HC_ACTIONS: readonly HcAction[] = ['listen', 'connect', 'accept', 'request']

/** Query parameters of the protocol (§1.3). */
export const HcParam = {
  action: 'sb-hc-action',
  id: 'sb-hc-id',
  token: 'sb-hc-token',
  statusCode: 'sb-hc-statusCode',
  statusDescription: 'sb-hc-statusDescription',
} as const

/** The header that carries a SAS token on WebSocket handshakes (§1.4). */
export const SERVICE_BUS_AUTHORIZATION = 'ServiceBusAuthorization'

/** Close codes used by the service (§2.10) and RFC 6455 pseudo-codes. */
export const RelayCloseCode = {
  /** sender side: the listener closed normally */
  Normal: 1000,
  /** HC deleted/disabled, or the peer went away */
  GoingAway: 1001,
  /** token expired or renewToken failed */
  PolicyViolation: 1008,
  /** service error */
  InternalError: 1011,
  /** pseudo-code: a Close frame without a code (never sent on the wire) */
  NoStatus: 1005,
  /** pseudo-code: the connection dropped without a Close frame (never sent on the wire) */
  Abnormal: 1006,
} as const

/**
 * The close code to send to one peer when the other closed with `code` (§2.10): valid codes
 * pass verbatim, 1005 (no code) becomes 1000, 1006 (dropped) and anything unsendable 1001.
 */
export function forwardedCloseCode(code: number): number {
  if (code === RelayCloseCode.NoStatus) return RelayCloseCode.Normal
  if (isSendableCloseCode(code)) return code
  return RelayCloseCode.GoingAway
}

/** Close codes an endpoint may put in a Close frame (RFC 6455 §7.4, as `ws` enforces them). */
export function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false
  if (code >= 3000 && code <= 4999) return true
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006
}

/** A close reason must fit the 123-byte limit of a Close frame; cut on a character boundary. */
export function truncateCloseReason(reason: string): string {
  let out = reason
  while (Buffer.byteLength(out, 'utf8') > 123) out = out.slice(0, -1)
  return out
}

// ---------------------------------------------------------------------------------------------
// Errors

export type ProtocolErrorCode =
  | 'InvalidJson'
  | 'NotACommand'
  | 'AmbiguousCommand'
  | 'InvalidField'
  | 'MissingField'
  | 'MessageTooLarge'
  | 'InvalidUrl'

/** Malformed input from the other end of the relay. `code` is stable; messages never echo secrets. */
export class RelayProtocolError extends HcctlError {
  override name = 'RelayProtocolError'
  readonly protocolCode: ProtocolErrorCode
  constructor(protocolCode: ProtocolErrorCode, message: string) {
    super(message, ExitCode.Unexpected, {
      code: `RelayProtocol${protocolCode}`,
      suggestions: ['The other end of the relay sent something hcctl does not understand; run with --debug and report it if it persists.'],
    })
    this.protocolCode = protocolCode
  }
}

// ---------------------------------------------------------------------------------------------
// Control-channel commands

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

function describe(name: string): string {
  return JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)
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
    if (!isHeaderName(name)) throw new RelayProtocolError('InvalidField', `The "${command}" command's "${field}" has an invalid header name ${describe(name)}.`)
    if (typeof v === 'string') out[name] = v
    else if (typeof v === 'number' || typeof v === 'boolean') out[name] = String(v)
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[name] = v.join(', ')
    else throw new RelayProtocolError('InvalidField', `The "${command}" command's header ${describe(name)} is not a string.`)
    if (/[\r\n\0]/.test(out[name]!)) throw new RelayProtocolError('InvalidField', `The "${command}" command's header ${describe(name)} contains a line break.`)
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

// ---------------------------------------------------------------------------------------------
// URLs

/**
 * The WebSocket base of a namespace: `sb://ns.servicebus.windows.net/`, `ns.servicebus.windows.net`,
 * `ns.host:8443` or `wss://127.0.0.1:PORT` all become a `wss:`/`ws:` URL with an empty path.
 * `ws:`/`http:` stay insecure (tests against plain servers); everything else becomes `wss:`.
 */
export function relayBaseUrl(endpoint: string): URL {
  const text = endpoint.trim()
  let url: URL
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `wss://${text}`)
  } catch {
    throw new RelayProtocolError('InvalidUrl', `The relay endpoint ${describe(text)} is not a host name or URL.`)
  }
  if (!url.hostname) throw new RelayProtocolError('InvalidUrl', `The relay endpoint ${describe(text)} has no host.`)
  const insecure = url.protocol === 'ws:' || url.protocol === 'http:'
  const out = new URL(`${insecure ? 'ws' : 'wss'}://${url.host}`)
  return out
}

/** URL-encodes an HC path segment by segment (names may contain '/'). */
export function encodeHcPath(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => encodeURIComponent(s))
    .join('/')
}

export interface HcUrlOptions {
  /** `sb-hc-id` (client tracking id). */
  id?: string
  /** A SAS token to put in `sb-hc-token` (browsers; our clients prefer the header). */
  token?: string
  /** Path after the HC name (sender side: passed to the listener). */
  suffix?: string
  /** Application query parameters (forwarded to the listener). */
  query?: Record<string, string> | URLSearchParams
}

function hcUrl(endpoint: string, hcPath: string, action: HcAction | undefined, options: HcUrlOptions, http = false): URL {
  const base = relayBaseUrl(endpoint)
  const secure = base.protocol === 'wss:'
  const scheme = http ? (secure ? 'https' : 'http') : secure ? 'wss' : 'ws'
  const suffix = options.suffix ? `/${encodeHcPath(options.suffix)}` : ''
  const url = new URL(`${scheme}://${base.host}/${http ? '' : `${HC_PATH_SEGMENT}/`}${encodeHcPath(hcPath)}${suffix}`)
  const query = options.query instanceof URLSearchParams ? options.query : new URLSearchParams(options.query ?? {})
  for (const [k, v] of query) if (!isHcParam(k)) url.searchParams.append(k, v)
  if (action) url.searchParams.set(HcParam.action, action)
  if (options.id) url.searchParams.set(HcParam.id, options.id)
  if (options.token) url.searchParams.set(HcParam.token, options.token)
  return url
}

/** `wss://{host}/$hc/{hc}?sb-hc-action=listen[&sb-hc-id=…][&sb-hc-token=…]` */
export function buildListenUrl(endpoint: string, hcPath: string, options: Omit<HcUrlOptions, 'suffix' | 'query'> = {}): string {
  return hcUrl(endpoint, hcPath, 'listen', options).toString()
}

/** `wss://{host}/$hc/{hc}[/suffix]?{app query}&sb-hc-action=connect[&sb-hc-id=…][&sb-hc-token=…]` */
export function buildConnectUrl(endpoint: string, hcPath: string, options: HcUrlOptions = {}): string {
  return hcUrl(endpoint, hcPath, 'connect', options).toString()
}

/** The rendezvous address a broker hands out in `accept` (`sb-hc-action=accept`). */
export function buildAcceptUrl(base: string, hcPath: string, id: string, options: Pick<HcUrlOptions, 'suffix' | 'query'> = {}): string {
  return hcUrl(base, hcPath, 'accept', {...options, id}).toString()
}

/** The rendezvous address a broker hands out in `request` (`sb-hc-action=request`). */
export function buildRequestRendezvousUrl(base: string, hcPath: string, id: string): string {
  return hcUrl(base, hcPath, 'request', {id}).toString()
}

/** `https://{host}/{hc}[/suffix]?{query}[&sb-hc-token=…]` for HTTP-mode senders. */
export function buildHttpUrl(endpoint: string, hcPath: string, options: Omit<HcUrlOptions, 'id'> = {}): string {
  return hcUrl(endpoint, hcPath, undefined, options, true).toString()
}

/** `https://{host}/{hc}?api-version=2016-07`: the runtime management GET (§7.2). */
export function buildManagementUrl(endpoint: string, hcPath: string): string {
  const url = hcUrl(endpoint, hcPath, undefined, {}, true)
  url.searchParams.set('api-version', MANAGEMENT_API_VERSION)
  return url.toString()
}

export type RejectSpelling = 'sb-hc' | 'plain'

/**
 * Turns an accept address into a reject address (§2.5): appends
 * `sb-hc-statusCode`/`sb-hc-statusDescription` (or the unprefixed names hyco uses).
 */
export function buildRejectUrl(acceptAddress: string, statusCode: number, statusDescription: string, spelling: RejectSpelling = 'sb-hc'): string {
  const url = new URL(acceptAddress)
  const prefix = spelling === 'sb-hc' ? 'sb-hc-' : ''
  url.searchParams.set(`${prefix}statusCode`, String(statusCode))
  url.searchParams.set(`${prefix}statusDescription`, statusDescription)
  return url.toString()
}

export function isHcParam(name: string): boolean {
  return name.toLowerCase().startsWith('sb-hc-')
}

/** What a relay request URL says, as the broker reads it. */
export interface ParsedRelayUrl {
  /** True for `/$hc/...` (WebSocket) paths. */
  hc: boolean
  /** The path after `/$hc/` (or after `/`), URL-decoded per segment, no leading slash. */
  path: string
  /** The path after `/$hc/` (or `/`) as transmitted (still encoded). */
  rawPath: string
  /** `sb-hc-action`, lower-cased; undefined when missing. */
  action?: string
  id?: string
  /** `sb-hc-token`, decoded once. */
  token?: string
  /** Reject parameters in either spelling (`sb-hc-…` wins). */
  reject?: {statusCode?: number; rawStatusCode: string; statusDescription?: string}
  /** All parameters except `sb-hc-*`, in order. */
  appQuery: URLSearchParams
  /** Every parameter, for callers that need more (e.g. api-version). */
  query: URLSearchParams
}

/**
 * Parses the request-target of a relay request (`/$hc/hc/suffix?…` or `/hc/suffix?…`).
 * Throws RelayProtocolError('InvalidUrl') on a path that cannot be decoded.
 */
export function parseRelayTarget(target: string): ParsedRelayUrl {
  const q = target.indexOf('?')
  const pathPart = q === -1 ? target : target.slice(0, q)
  const search = q === -1 ? '' : target.slice(q + 1)
  // Form semantics: '+' is a space (WebUtility.UrlEncode in the .NET reject, §2.5).
  const query = new URLSearchParams(search)
  let rawPath = pathPart.replace(/^\/+/, '')
  let hc = false
  if (/^\$hc(\/|$)/i.test(rawPath)) {
    hc = true
    rawPath = rawPath.slice(4)
  } else if (/^%24hc(\/|$)/i.test(rawPath)) {
    hc = true
    rawPath = rawPath.slice(6)
  }
  let path: string
  try {
    path = rawPath
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s))
      .join('/')
  } catch {
    throw new RelayProtocolError('InvalidUrl', 'The request path is not valid percent-encoding.')
  }
  const get = (name: string): string | undefined => {
    for (const [k, v] of query) if (k.toLowerCase() === name.toLowerCase()) return v
    return undefined
  }
  const appQuery = new URLSearchParams()
  for (const [k, v] of query) if (!isHcParam(k)) appQuery.append(k, v)
  const out: ParsedRelayUrl = {hc, path, rawPath, appQuery, query}
  const action = get(HcParam.action)
  if (action !== undefined) out.action = action.toLowerCase()
  const id = get(HcParam.id)
  if (id !== undefined) out.id = id
  const token = get(HcParam.token)
  if (token !== undefined && token !== '') out.token = token
  const rawStatusCode = get(HcParam.statusCode) ?? get('statusCode')
  if (rawStatusCode !== undefined) {
    const statusDescription = get(HcParam.statusDescription) ?? get('statusDescription')
    out.reject = {rawStatusCode}
    const statusCode = parseStatusCode(rawStatusCode)
    if (statusCode !== undefined) out.reject.statusCode = statusCode
    if (statusDescription !== undefined) out.reject.statusDescription = statusDescription
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Reason phrases

/** Messages the service puts in reason phrases and close reasons (§2.1, §3.2). */
export const RelayMessage = {
  EndpointNotFound: 'Endpoint does not exist',
  NoListeners: 'There are no listeners connected for the endpoint',
  NoListenerMeetsCriteria: 'None of the connected listeners meet the AllowedListeners/DisallowedListeners criteria',
  AcceptTimeout: 'None of the connected listeners accepted the connection within the allowed timeout',
  InvalidSignature: 'The token has an invalid signature',
  TokenMissing: 'TokenMissingOrInvalid: The request does not carry a token, or the token is malformed',
  ExpiredToken: 'ExpiredToken: The token is expired',
  InvalidAudience: 'InvalidAudience: The authorization header contains a token with a wrong audience',
  UnknownRule: 'The token was signed with a shared access key the entity does not have',
  ListenerQuota: 'The number of listeners on the hybrid connection has reached the limit of 25',
  RendezvousInvalid: 'The rendezvous address is not valid, was already used or has expired',
  ListenerClosed: 'The listener closed the connection',
  EntityDeleted: 'The hybrid connection was deleted or disabled',
  TokenRenewalFailed: 'The renewed token is not valid',
} as const

export function claimRequiredMessage(right: 'Listen' | 'Send' | 'Manage'): string {
  return `Unauthorized access. '${right}' claim(s) are required to perform this operation`
}

export interface ReasonContext {
  trackingId: string
  /** Namespace host, e.g. contoso.servicebus.windows.net */
  host: string
  /** Entity path (HC name), e.g. hyco */
  entityPath?: string
  /** Clock (ms), for tests. */
  now?: number
}

/** `2025-04-24T11:08:15` (UTC, no milliseconds): the timestamp format of the service. */
export function reasonTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19)
}

/**
 * `<message>. TrackingId:<id>, SystemTracker:sb://<host>/<path>, Timestamp:<time>` with every
 * character that cannot appear in an HTTP reason phrase replaced by a space.
 */
export function formatReason(message: string, context: ReasonContext): string {
  const tracker = `sb://${context.host}/${context.entityPath ?? ''}`
  const text = `${message.replace(/\.+$/, '')}. TrackingId:${context.trackingId}, SystemTracker:${tracker}, Timestamp:${reasonTimestamp(context.now ?? Date.now())}`
  return sanitizeReasonPhrase(text)
}

/** Makes a string safe for an HTTP/1.1 status line (RFC 7230 reason-phrase: HTAB, SP, VCHAR, obs-text). */
export function sanitizeReasonPhrase(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ').replace(/[^\x09\x20-\x7e]/g, '?').slice(0, 1024)
}

export interface ParsedReason {
  message: string
  trackingId?: string
  systemTracker?: string
  timestamp?: string
}

/** Splits a service reason phrase into its message and tracking parts (for diagnostics). */
export function parseReason(text: string): ParsedReason {
  const m = /^(.*?)\.?\s*TrackingId:\s*([^,]*),\s*SystemTracker:\s*([^,]*),\s*Timestamp:\s*(.*)$/s.exec(text)
  if (!m) return {message: text.trim()}
  return {message: m[1]!.trim(), trackingId: m[2]!.trim(), systemTracker: m[3]!.trim(), timestamp: m[4]!.trim()}
}
