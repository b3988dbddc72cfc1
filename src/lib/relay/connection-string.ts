import {UsageError} from '../errors.js'
import {parseSasToken} from './sas.js'

/**
 * Relay connection strings (relay-protocol.md §4.5): `Key=Value` pairs separated by `;`,
 * split on the first `=`, keys case-insensitive, empty entries ignored, unknown keys an error.
 * Errors name the bad part and never echo a key or signature.
 */
export interface RelayConnectionString {
  /** sb://ns.servicebus.windows.net/ */
  endpoint: string
  /** host of the endpoint, e.g. ns.servicebus.windows.net */
  host: string
  /** Hybrid connection name (EntityPath), if given */
  entityPath?: string
  sharedAccessKeyName?: string
  sharedAccessKey?: string
  /** A complete pre-made SAS token */
  sharedAccessSignature?: string
  /** OperationTimeout in milliseconds, if given */
  operationTimeoutMs?: number
}

const KEYS: Record<string, keyof RelayConnectionString | 'operationTimeout' | 'authentication'> = {
  endpoint: 'endpoint',
  entitypath: 'entityPath',
  sharedaccesskeyname: 'sharedAccessKeyName',
  sharedaccesskey: 'sharedAccessKey',
  sharedaccesssignature: 'sharedAccessSignature',
  operationtimeout: 'operationTimeout',
  authentication: 'authentication',
}

function bad(what: string, hint?: string): UsageError {
  return new UsageError(`The connection string is invalid: ${what}.`, {
    code: 'InvalidConnectionString',
    suggestions: [
      hint ??
        'Expected Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=RULE;SharedAccessKey=KEY;EntityPath=HYBRID_CONNECTION (`hcctl connection-string` prints one).',
    ],
  })
}

export function parseConnectionString(text: string): RelayConnectionString {
  if (typeof text !== 'string' || text.trim() === '') throw bad('it is empty')
  if (/^\s*(["'])[\s\S]*\1\s*$/.test(text) && text.trim().length > 1) {
    throw bad('it is wrapped in quotes', 'Remove the quotes around the value: the shell keeps them when they are nested (\'"Endpoint=…"\') or come from a file.')
  }
  const values: Record<string, string> = {}
  for (const rawPart of text.trim().split(';')) {
    const part = rawPart.trim()
    if (!part) continue
    const eq = part.indexOf('=')
    if (eq <= 0) throw bad(`the part "${part.slice(0, 20)}${part.length > 20 ? '…' : ''}" is not Key=Value`)
    const rawKey = part.slice(0, eq).trim()
    const key = KEYS[rawKey.toLowerCase().replace(/\s+/g, '')]
    if (!key) throw bad(`unknown key "${rawKey.slice(0, 40)}"`, 'Known keys: Endpoint, EntityPath, SharedAccessKeyName, SharedAccessKey, SharedAccessSignature, OperationTimeout.')
    if (values[key] !== undefined) throw bad(`"${rawKey}" appears twice`)
    values[key] = part.slice(eq + 1).trim()
  }
  if (values.authentication !== undefined) {
    throw bad('Authentication (managed identity) is not supported here', 'Use a SAS rule: SharedAccessKeyName and SharedAccessKey.')
  }
  const endpoint = values.endpoint
  if (!endpoint) throw bad('Endpoint is missing')
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw bad('Endpoint is not an absolute URI (expected sb://NAMESPACE.servicebus.windows.net/)')
  }
  if (!['sb:', 'https:', 'wss:', 'http:', 'ws:'].includes(url.protocol) || !url.hostname) {
    throw bad(`Endpoint has the scheme "${url.protocol.replace(':', '')}"; expected sb://`)
  }
  const result: RelayConnectionString = {endpoint, host: url.hostname.toLowerCase()}
  if (values.entityPath !== undefined) {
    if (!values.entityPath) throw bad('EntityPath is empty')
    result.entityPath = values.entityPath
  }
  const hasKeyName = values.sharedAccessKeyName !== undefined
  const hasKey = values.sharedAccessKey !== undefined
  if (hasKeyName !== hasKey) throw bad(hasKeyName ? 'SharedAccessKeyName is given without SharedAccessKey' : 'SharedAccessKey is given without SharedAccessKeyName')
  if (hasKey) {
    if (!values.sharedAccessKeyName) throw bad('SharedAccessKeyName is empty')
    if (!values.sharedAccessKey) throw bad('SharedAccessKey is empty')
    if (values.sharedAccessKeyName.length > 256 || values.sharedAccessKey.length > 256) throw bad('SharedAccessKeyName or SharedAccessKey is longer than 256 characters')
    result.sharedAccessKeyName = values.sharedAccessKeyName
    result.sharedAccessKey = values.sharedAccessKey
  }
  if (values.sharedAccessSignature !== undefined) {
    if (hasKey) throw bad('it has both SharedAccessKey and SharedAccessSignature; keep one')
    try {
      parseSasToken(values.sharedAccessSignature)
    } catch (error) {
      throw bad(`SharedAccessSignature is malformed (${(error as Error).message})`)
    }
    result.sharedAccessSignature = values.sharedAccessSignature
  }
  if (!hasKey && values.sharedAccessSignature === undefined) throw bad('it has neither SharedAccessKeyName/SharedAccessKey nor SharedAccessSignature')
  if (values.operationTimeout !== undefined) result.operationTimeoutMs = parseTimeSpan(values.operationTimeout)
  return result
}

/** .NET TimeSpan `[d.]hh:mm:ss[.fff]`, or plain seconds. */
function parseTimeSpan(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(text)
  if (!m) throw bad(`OperationTimeout "${text.slice(0, 20)}" is not a time span like 00:01:00`)
  const [, d, h, mi, s, frac] = m
  return ((Number(d ?? 0) * 24 + Number(h)) * 3600 + Number(mi) * 60 + Number(s)) * 1000 + Math.round(Number(`0.${frac ?? 0}`) * 1000)
}

/** Formats a connection string in the order the portal uses. */
export function formatConnectionString(cs: Omit<RelayConnectionString, 'host'> & {host?: string}): string {
  const parts = [`Endpoint=${cs.endpoint}`]
  if (cs.sharedAccessKeyName) parts.push(`SharedAccessKeyName=${cs.sharedAccessKeyName}`)
  if (cs.sharedAccessKey) parts.push(`SharedAccessKey=${cs.sharedAccessKey}`)
  if (cs.sharedAccessSignature) parts.push(`SharedAccessSignature=${cs.sharedAccessSignature}`)
  if (cs.entityPath) parts.push(`EntityPath=${cs.entityPath}`)
  return parts.join(';')
}

/** The namespace endpoint in connection-string form for a host: sb://host/ */
export function endpointFor(host: string): string {
  return `sb://${host}/`
}
