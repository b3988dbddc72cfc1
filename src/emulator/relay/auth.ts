import {
  audienceCovers,
  normalizeAudience,
  parseSasToken,
  sasAudience,
  verifySasSignature,
  type SasTokenFields,
} from '../../lib/relay/sas.js'
import {claimRequiredMessage, RelayMessage, reasonTimestamp} from '../../lib/relay/protocol.js'
import type {RelayEntity, RelayRight, SasRule} from '../contracts.js'

/**
 * SAS validation for the relay data plane (relay-protocol.md §4.4): find the token, parse it,
 * find its rule on the hybrid connection or the namespace, check the HMAC over the raw `sr`,
 * the expiry (with grace), the audience (a whole-segment prefix of the requested resource)
 * and the right. Results carry the HTTP status and the service-like message; never the token.
 */

export type AuthAction = 'listen' | 'connect' | 'http' | 'management'

export type TokenSource = 'query' | 'ServiceBusAuthorization' | 'Authorization'

export interface TokenCarrier {
  token: string
  source: TokenSource
}

/** Query `sb-hc-token`, then `ServiceBusAuthorization`, then (HTTP and management only) `Authorization`. */
export function findToken(
  queryToken: string | undefined,
  headers: Record<string, string | string[] | undefined>,
  action: AuthAction,
): TokenCarrier | undefined {
  if (queryToken) return {token: queryToken, source: 'query'}
  const sba = first(headers['servicebusauthorization'])
  if (sba) return {token: sba, source: 'ServiceBusAuthorization'}
  if (action === 'http' || action === 'management') {
    const auth = first(headers.authorization)
    if (auth && /^\s*SharedAccessSignature(\s|%20)/i.test(auth)) return {token: auth, source: 'Authorization'}
  }
  return undefined
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

export interface AuthRequest {
  action: AuthAction
  carrier: TokenCarrier | undefined
  entity: RelayEntity
  /** The host the request was addressed to (lower-case, no port). */
  requestHost: string
  /** The namespace host `{ns}{suffix}` (lower-case). */
  namespaceHost: string
  /** The requested path after `/$hc/` or `/`, decoded (HC name plus suffix). */
  path: string
  nowMs: number
  graceSeconds: number
  earlySeconds: number
}

export type AuthResult =
  | {ok: true; anonymous: boolean; rule?: string; expiresAtMs?: number}
  | {ok: false; status: 401 | 403; message: string}

const NEEDED: Record<AuthAction, RelayRight[]> = {
  listen: ['Listen', 'Manage'],
  connect: ['Send', 'Manage'],
  http: ['Send', 'Manage'],
  management: ['Listen', 'Manage'],
}

const CLAIM: Record<AuthAction, RelayRight> = {listen: 'Listen', connect: 'Send', http: 'Send', management: 'Listen'}

export function authorize(request: AuthRequest): AuthResult {
  const {action, carrier, entity} = request
  if (!carrier) {
    if ((action === 'connect' || action === 'http') && !entity.requiresClientAuthorization) return {ok: true, anonymous: true}
    return {ok: false, status: 401, message: RelayMessage.TokenMissing}
  }
  let fields: SasTokenFields
  try {
    fields = parseSasToken(carrier.token)
  } catch {
    return {ok: false, status: 401, message: RelayMessage.TokenMissing}
  }
  const rule = findRule(entity, fields.skn)
  if (!rule) return {ok: false, status: 401, message: `${RelayMessage.UnknownRule} ('${sanitizeName(fields.skn)}')`}
  if (!verifySasSignature(fields, rule.primaryKey) && !verifySasSignature(fields, rule.secondaryKey)) {
    return {ok: false, status: 401, message: RelayMessage.InvalidSignature}
  }
  const expiresAtMs = effectiveExpiryMs(fields.se, request.earlySeconds)
  if (expiresAtMs + request.graceSeconds * 1000 <= request.nowMs) {
    return {ok: false, status: 401, message: `${RelayMessage.ExpiredToken}. Expiration time: ${reasonTimestamp(expiresAtMs)}`}
  }
  if (!audienceMatches(sasAudience(fields), request)) return {ok: false, status: 401, message: RelayMessage.InvalidAudience}
  const needed = NEEDED[action]
  if (!rule.rights.some((r) => needed.includes(r))) return {ok: false, status: 403, message: claimRequiredMessage(CLAIM[action])}
  return {ok: true, anonymous: false, rule: rule.name, expiresAtMs}
}

/** The token's expiry in ms, moved earlier by the `expireTokensEarlySeconds` fault. */
export function effectiveExpiryMs(se: number, earlySeconds: number): number {
  return (se - earlySeconds) * 1000
}

function findRule(entity: RelayEntity, name: string): SasRule | undefined {
  const lower = name.toLowerCase()
  return entity.rules.find((r) => r.name.toLowerCase() === lower) ?? entity.namespaceRules.find((r) => r.name.toLowerCase() === lower)
}

/**
 * The audience's path must be a whole-segment prefix of the requested path, and its host the
 * request's host or the namespace host (so `wss://127.0.0.1:P/...` requests accept tokens
 * signed for either).
 */
function audienceMatches(audience: string, request: AuthRequest): boolean {
  const normalized = normalizeAudience(audience)
  const slash = normalized.indexOf('/')
  const host = normalized.slice(0, slash)
  if (host !== request.requestHost && host !== request.namespaceHost) return false
  return audienceCovers(normalized, `${host}/${request.path}`)
}

function sanitizeName(name: string): string {
  return name.replace(/[^\w.-]/g, '?').slice(0, 64)
}
