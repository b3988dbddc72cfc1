import {isIP} from 'node:net'

import {UsageError} from '../errors.js'

/**
 * The endpoint of a hybrid connection, and the one `host:port` reader of hcctl.
 *
 * The endpoint is the `host:port` App Service redirects to the relay, kept in the relay's
 * `userMetadata` as `[{"key":"endpoint","value":"host:port"}]` (arm-surface.md §8.3). The format
 * is undocumented by Microsoft; we read it the way the Hybrid Connection Manager does (the key
 * compared case-insensitively, exactly one endpoint item) and write the canonical form.
 * Provisioning writes it, `check` diagnoses it, and the agent and forwarder dial it, all through
 * this module, so the agent accepts exactly what `create`/`endpoint set` write.
 */
export interface Endpoint {
  host: string
  port: number
}

/** How often a running agent reads its endpoint metadata again (`--endpoint-refresh`). */
export const DEFAULT_ENDPOINT_REFRESH_MS = 60_000

export interface HostPortOptions {
  /** Accept `PORT` and `:PORT` alone, meaning this host (addresses to listen on). */
  defaultHost?: string
  /** Accept port 0 (listen on any free port). */
  allowPortZero?: boolean
}

export type HostPortReading = {ok: true; endpoint: Endpoint} | {ok: false; reason: string}

const DNS_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/

/**
 * Reads `host:port` or `[IPv6]:port` (never a bare IPv6 address: its last colon is ambiguous).
 * The host is an IPv4 address, an IPv6 address in brackets, or a DNS name. Returns the reason
 * when the text is not one, as words that fit after "is invalid: "; never throws.
 */
export function readHostPort(text: string, options: HostPortOptions = {}): HostPortReading {
  const fail = (reason: string): HostPortReading => ({ok: false, reason})
  if (typeof text !== 'string' || text === '') return fail('it is empty')
  let host: string
  let portText: string
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close === -1 || text[close + 1] !== ':') return fail('an IPv6 address must be written as [address]:port')
    host = text.slice(1, close)
    portText = text.slice(close + 2)
    if (isIP(host) !== 6) return fail(`"${host}" is not an IPv6 address`)
  } else {
    const colon = text.lastIndexOf(':')
    if (colon === -1 && options.defaultHost === undefined) return fail('the port is missing (expected host:port)')
    host = colon === -1 ? '' : text.slice(0, colon)
    portText = text.slice(colon + 1)
    if (host.includes(':')) return fail('an IPv6 address must be written as [address]:port')
    if (host === '') {
      if (options.defaultHost === undefined) return fail('the host is missing (expected host:port)')
      host = options.defaultHost
    } else if (isIP(host) !== 4) {
      const name = host.endsWith('.') ? host.slice(0, -1) : host
      if (name.length > 253 || !name.split('.').every((label) => DNS_LABEL.test(label))) {
        return fail(`"${host}" is not a valid DNS name (letters, digits and hyphens, dot-separated)`)
      }
    }
  }
  if (!/^\d{1,5}$/.test(portText)) return fail(`the port "${portText}" is not a number from ${options.allowPortZero ? 0 : 1} to 65535`)
  const port = Number(portText)
  if (port > 65535 || (port === 0 && !options.allowPortZero)) return fail(`the port ${port} is outside ${options.allowPortZero ? 0 : 1}-65535`)
  return {ok: true, endpoint: {host, port}}
}

export function formatEndpoint(endpoint: Endpoint): string {
  return isIP(endpoint.host) === 6 ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port
}

export interface MetadataItem {
  key: string
  value: string
}

export type MetadataProblem = 'missing' | 'not-json' | 'not-a-list' | 'no-endpoint' | 'several-endpoints' | 'bad-endpoint'

export type ParsedMetadata =
  | {ok: true; endpoint: Endpoint; items: MetadataItem[]; raw: string}
  | {ok: false; problem: MetadataProblem; reason: string; items?: MetadataItem[]; raw?: string}

/**
 * Reads `userMetadata`. Accepted: a JSON array of `{"key": ..., "value": ...}` objects (key and
 * property names case-insensitive) with exactly one item whose key is `endpoint`, its value
 * `host:port`. Anything else is a problem with a reason, never an exception.
 */
export function parseEndpointMetadata(raw: string | undefined | null): ParsedMetadata {
  if (raw === undefined || raw === null || String(raw).trim() === '') {
    return {ok: false, problem: 'missing', reason: 'it has no userMetadata (App Service needs an "endpoint" item with host:port)'}
  }
  let data: unknown
  try {
    data = JSON.parse(raw)
  } catch {
    return {ok: false, problem: 'not-json', reason: `its userMetadata is not JSON (${preview(raw)})`, raw}
  }
  if (!Array.isArray(data)) {
    return {ok: false, problem: 'not-a-list', reason: `its userMetadata is not a JSON list of {"key","value"} items (${preview(raw)})`, raw}
  }
  const items: MetadataItem[] = []
  for (const entry of data) {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      return {ok: false, problem: 'not-a-list', reason: `its userMetadata has an item that is not a {"key","value"} object (${preview(raw)})`, raw}
    }
    const props = Object.entries(entry as Record<string, unknown>)
    const key = props.find(([k]) => k.toLowerCase() === 'key')?.[1]
    const value = props.find(([k]) => k.toLowerCase() === 'value')?.[1]
    if (typeof key !== 'string' || (typeof value !== 'string' && typeof value !== 'number')) {
      return {ok: false, problem: 'not-a-list', reason: `its userMetadata has an item without a string "key" and "value" (${preview(raw)})`, raw}
    }
    items.push({key, value: String(value)})
  }
  const endpoints = items.filter((i) => i.key.trim().toLowerCase() === 'endpoint')
  if (endpoints.length === 0) return {ok: false, problem: 'no-endpoint', reason: 'its userMetadata has no "endpoint" item', items, raw}
  if (endpoints.length > 1) return {ok: false, problem: 'several-endpoints', reason: `its userMetadata has ${endpoints.length} "endpoint" items; App Service needs exactly one`, items, raw}
  const value = endpoints[0]!.value
  const read = readHostPort(value.trim())
  if (!read.ok) return {ok: false, problem: 'bad-endpoint', reason: `its "endpoint" item "${value.slice(0, 100)}" is invalid: ${read.reason}`, items, raw}
  return {ok: true, endpoint: read.endpoint, items, raw}
}

/**
 * The metadata with the endpoint set: other items kept in order, the endpoint item replaced
 * (or added first). Unreadable metadata is replaced as a whole.
 */
export function formatEndpointMetadata(endpoint: Endpoint, existing?: MetadataItem[]): string {
  const others = (existing ?? []).filter((i) => i.key.trim().toLowerCase() !== 'endpoint')
  return JSON.stringify([{key: 'endpoint', value: formatEndpoint(endpoint)}, ...others])
}

function preview(raw: string): string {
  const oneLine = raw.replace(/\s+/g, ' ')
  return oneLine.length > 60 ? `${oneLine.slice(0, 60)}…` : oneLine
}

/** The data plane's error for a hybrid connection whose endpoint cannot be used. */
export class EndpointMetadataError extends UsageError {
  constructor(message: string) {
    super(message, {
      code: 'InvalidEndpointMetadata',
      suggestions: ['Set the endpoint with `hcctl endpoint set HC --namespace NS -g RG --endpoint HOST:PORT`, or in the portal (userMetadata `[{"key":"endpoint","value":"host:port"}]`).'],
    })
  }
}

/** The endpoint a userMetadata string names; throws EndpointMetadataError when absent or malformed. */
export function endpointFromMetadata(userMetadata: string | undefined | null): Endpoint {
  const parsed = parseEndpointMetadata(userMetadata)
  if (!parsed.ok) throw new EndpointMetadataError(`The hybrid connection cannot be used: ${parsed.reason}.`)
  return parsed.endpoint
}
