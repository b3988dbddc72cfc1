import {isIP} from 'node:net'

import {UsageError} from '../errors.js'

/**
 * The endpoint of a hybrid connection: the `host:port` App Service redirects to the relay, kept
 * in the relay's `userMetadata` as `[{"key":"endpoint","value":"host:port"}]` (arm-surface.md
 * §8.3). The format is undocumented by Microsoft; we read it the way the Hybrid Connection
 * Manager does (the key compared case-insensitively, exactly one endpoint item) and write the
 * canonical form.
 */
export interface Endpoint {
  host: string
  port: number
}

/** Why a host deserves a warning (or an error with `--strict`). */
export type HostConcern = 'ip-address' | 'localhost'

const DNS_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/

export function formatEndpoint(endpoint: Endpoint): string {
  return isIP(endpoint.host) === 6 ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port
}

/** Problems with an endpoint text, as a reason string; undefined when it is fine. */
export function endpointProblem(text: string): string | undefined {
  try {
    parseEndpointStrict(text)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

function parseEndpointStrict(text: string): Endpoint {
  if (typeof text !== 'string' || text.trim() === '') throw new Error('it is empty')
  const t = text.trim()
  let host: string
  let portText: string
  if (t.startsWith('[')) {
    const close = t.indexOf(']')
    if (close === -1 || t[close + 1] !== ':') throw new Error('an IPv6 address must be written as [address]:port')
    host = t.slice(1, close)
    portText = t.slice(close + 2)
    if (isIP(host) !== 6) throw new Error(`"${host}" is not an IPv6 address`)
  } else {
    const colon = t.lastIndexOf(':')
    if (colon === -1) throw new Error('the port is missing (expected host:port)')
    host = t.slice(0, colon)
    portText = t.slice(colon + 1)
    if (host.includes(':')) throw new Error('an IPv6 address must be written as [address]:port')
    if (host === '') throw new Error('the host is missing (expected host:port)')
    if (isIP(host) !== 4) {
      const name = host.endsWith('.') ? host.slice(0, -1) : host
      if (name.length > 253 || !name.split('.').every((label) => DNS_LABEL.test(label))) {
        throw new Error(`"${host}" is not a valid DNS name (letters, digits and hyphens, dot-separated)`)
      }
    }
  }
  if (!/^\d{1,5}$/.test(portText)) throw new Error(`the port "${portText}" is not a number from 1 to 65535`)
  const port = Number(portText)
  if (port < 1 || port > 65535) throw new Error(`the port ${port} is outside 1-65535`)
  return {host, port}
}

/** Parses `host:port` given by the user (a flag or a file); a usage error names what is wrong. */
export function parseEndpoint(text: string, source = '--endpoint'): Endpoint {
  try {
    return parseEndpointStrict(text)
  } catch (error) {
    throw new UsageError(`${source} "${String(text).slice(0, 100)}" is invalid: ${(error as Error).message}.`, {
      code: 'InvalidEndpoint',
      suggestions: ['Give the endpoint as host:port with a DNS name the agent host resolves, e.g. --endpoint sql01.corp.local:1433.'],
    })
  }
}

/** IP literals and localhost work badly with App Service (it redirects by DNS name). */
export function hostConcern(host: string): HostConcern | undefined {
  if (isIP(host)) return /^127\.|^::1$|^0:0:0:0:0:0:0:1$/.test(host) ? 'localhost' : 'ip-address'
  const h = host.toLowerCase().replace(/\.$/, '')
  if (h === 'localhost' || h.endsWith('.localhost')) return 'localhost'
  return undefined
}

export function hostConcernMessage(endpoint: Endpoint, concern: HostConcern): string {
  const shown = formatEndpoint(endpoint)
  return concern === 'ip-address'
    ? `The endpoint ${shown} uses an IP address. App Service redirects to a hybrid connection only when the app looks up the endpoint's DNS name, so an app that connects to an IP may bypass it; use a DNS name the agent host resolves.`
    : `The endpoint ${shown} is localhost. App Service redirects by DNS name and "localhost" on the app resolves to the app itself (Linux apps never redirect it); use the agent machine's name instead.`
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
  const problem = endpointProblem(endpoints[0]!.value)
  if (problem) return {ok: false, problem: 'bad-endpoint', reason: `its "endpoint" item "${endpoints[0]!.value.slice(0, 100)}" is invalid: ${problem}`, items, raw}
  return {ok: true, endpoint: parseEndpointStrict(endpoints[0]!.value), items, raw}
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
