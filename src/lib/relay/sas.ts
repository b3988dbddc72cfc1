import {createHmac, timingSafeEqual} from 'node:crypto'

import {UsageError} from '../errors.js'

/**
 * Shared Access Signature tokens for Azure Relay (relay-protocol.md §4):
 * `SharedAccessSignature sr=<enc(uri)>&sig=<enc(base64(HMAC-SHA256(key, sr + "\n" + se)))>&se=<unix>&skn=<rule>`.
 * The HMAC key is the UTF-8 bytes of the key text as the portal shows it (not base64-decoded),
 * and the signature covers `sr` exactly as it is transmitted. Used by our clients (to sign)
 * and by the emulator (to verify), so both ends agree by construction.
 */

export const SAS_PREFIX = 'SharedAccessSignature '

export interface SasTokenFields {
  /** `sr` exactly as transmitted (still URL-encoded) */
  sr: string
  /** `sig` as transmitted (URL-encoded base64) */
  sig: string
  /** expiry, unix seconds */
  se: number
  /** rule (key) name */
  skn: string
}

export interface CreateSasOptions {
  /** The resource the token grants access to, e.g. http://ns.servicebus.windows.net/hc */
  resourceUri: string
  keyName: string
  key: string
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number
  /** Clock, for tests. */
  now?: () => number
}

/** Creates a SAS token string. */
export function createSasToken(options: CreateSasOptions): string {
  const now = options.now ?? Date.now
  const se = Math.floor(now() / 1000) + Math.max(1, Math.floor(options.ttlSeconds ?? 3600))
  const sr = encodeURIComponent(options.resourceUri)
  const sig = encodeURIComponent(sign(options.key, sr, String(se)))
  return `${SAS_PREFIX}sr=${sr}&sig=${sig}&se=${se}&skn=${encodeURIComponent(options.keyName)}`
}

function sign(key: string, rawSr: string, rawSe: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(`${rawSr}\n${rawSe}`, 'utf8').digest('base64')
}

/**
 * Parses a token. Field names match case-insensitively and in any order. Throws a UsageError
 * naming the missing or malformed part; never echoes the signature.
 */
export function parseSasToken(token: string): SasTokenFields {
  let text = token.trim()
  if (/^SharedAccessSignature%20/i.test(text)) text = decodeURIComponent(text)
  if (!text.toLowerCase().startsWith(SAS_PREFIX.toLowerCase())) {
    throw new UsageError('The SAS token does not start with "SharedAccessSignature ".', {code: 'InvalidSasToken'})
  }
  const fields = new Map<string, string>()
  for (const part of text.slice(SAS_PREFIX.length).split('&')) {
    if (!part) continue
    const eq = part.indexOf('=')
    if (eq <= 0) throw new UsageError(`The SAS token has a malformed field (no "=" in "${part.slice(0, 12)}…").`, {code: 'InvalidSasToken'})
    fields.set(part.slice(0, eq).toLowerCase(), part.slice(eq + 1))
  }
  for (const name of ['sr', 'sig', 'se', 'skn']) {
    if (!fields.get(name)) throw new UsageError(`The SAS token has no "${name}" field.`, {code: 'InvalidSasToken'})
  }
  const se = Number(fields.get('se'))
  if (!Number.isInteger(se) || se <= 0) throw new UsageError('The SAS token\'s "se" (expiry) is not a unix time in seconds.', {code: 'InvalidSasToken'})
  return {sr: fields.get('sr')!, sig: fields.get('sig')!, se, skn: safeDecode(fields.get('skn')!)}
}

/** True when `sig` is the HMAC of the raw `sr` and `se` under `key` (constant-time compare). */
export function verifySasSignature(fields: SasTokenFields, key: string): boolean {
  // Encoders differ: spaces may stand for '+', '/' may be left unencoded (relay-protocol.md §4.2).
  const given = Buffer.from(safeDecode(fields.sig).replace(/ /g, '+'), 'base64')
  const expected = Buffer.from(sign(key, fields.sr, String(fields.se)), 'base64')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** The decoded audience (`sr`) of a token. */
export function sasAudience(fields: SasTokenFields): string {
  return safeDecode(fields.sr.replace(/\+/g, '%20'))
}

/**
 * Normalises an audience or a request resource for prefix comparison: scheme dropped, host
 * lower-cased without port, `$hc/` removed, query dropped, trailing slash added.
 * `http://NS.servicebus.windows.net:443/$hc/hc1?x=1` → `ns.servicebus.windows.net/hc1/`.
 */
export function normalizeAudience(uri: string): string {
  let rest = uri.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
  rest = rest.split('#')[0]!.split('?')[0]!
  const slash = rest.indexOf('/')
  const hostPort = slash === -1 ? rest : rest.slice(0, slash)
  let path = slash === -1 ? '' : rest.slice(slash + 1)
  const host = hostPort.replace(/:\d+$/, '').toLowerCase()
  path = path.replace(/^\$hc\//i, '')
  const normalized = `${host}/${path}`
  return normalized.endsWith('/') ? normalized : `${normalized}/`
}

/**
 * True when the token's audience covers the resource: a whole-segment prefix after
 * normalisation (path compared case-insensitively, as entity names are).
 */
export function audienceCovers(audience: string, resource: string): boolean {
  const a = normalizeAudience(audience).toLowerCase()
  const r = normalizeAudience(resource).toLowerCase()
  return r.startsWith(a)
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
