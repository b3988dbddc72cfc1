import {parseStatusCode} from './protocol-commands.js'
import {HC_PATH_SEGMENT, type HcAction, HcParam, MANAGEMENT_API_VERSION} from './protocol-constants.js'
import {describeName, RelayProtocolError} from './protocol-errors.js'

/**
 * Relay addresses (relay-protocol.md §1): builders for the listen, connect, accept, request,
 * reject, HTTP and management URLs, and the broker's parser for request targets.
 */

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
    throw new RelayProtocolError('InvalidUrl', `The relay endpoint ${describeName(text)} is not a host name or URL.`)
  }
  if (!url.hostname) throw new RelayProtocolError('InvalidUrl', `The relay endpoint ${describeName(text)} has no host.`)
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
