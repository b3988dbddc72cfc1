import {UsageError} from '../errors.js'
import {armScope} from './clouds.js'
import type {AzureContext} from './context.js'
import {decodeJwt} from './credentials.js'
import {TokenCache, tokenCachePath} from './token-cache.js'

export interface TokenResult {
  scope: string
  /** The bearer token itself (the user asked for it). */
  accessToken: string
  expiresOn: string
}

export interface DecodedTokenResult {
  scope: string
  header: Record<string, unknown>
  claims: Record<string, unknown>
  expiresOn?: string
  /** Seconds until expiry (negative when expired). */
  expiresInSeconds?: number
}

export interface TokenCacheClearedResult {
  /** The cache file that was removed (it may not have existed). */
  path: string
  /** How many cached tokens it held. */
  removed: number
}

/** `hcctl token --clear-cache`: removes the token cache file (see token-cache.ts). */
export function clearTokenCache(env: NodeJS.ProcessEnv = process.env): TokenCacheClearedResult {
  const cache = new TokenCache(tokenCachePath(env))
  return {path: cache.path, removed: cache.clear()}
}

/** A token for `scope` (default: the cloud's ARM scope); `.default` is appended to a bare resource URI. */
export async function getAccessToken(context: Pick<AzureContext, 'cloud' | 'getToken'>, scope?: string): Promise<TokenResult> {
  const wanted = normalizeScope(scope ?? armScope(context.cloud))
  const token = await context.getToken(wanted)
  return {scope: wanted, accessToken: token.token, expiresOn: new Date(token.expiresOnTimestamp).toISOString()}
}

/** The claims of a token instead of the token (header and payload only; the signature is dropped). */
export function decodeAccessToken(result: TokenResult, now: number = Date.now()): DecodedTokenResult {
  const decoded = decodeJwt(result.accessToken)
  if (!decoded) {
    throw new UsageError('The access token is not a JWT, so it has no claims to show.', {
      code: 'NotAJwt',
      suggestions: ['Run without --decode to print the token itself.'],
    })
  }
  const exp = decoded.claims.exp
  const out: DecodedTokenResult = {scope: result.scope, header: decoded.header, claims: decoded.claims}
  if (typeof exp === 'number') {
    out.expiresOn = new Date(exp * 1000).toISOString()
    out.expiresInSeconds = Math.round(exp - now / 1000)
  }
  return out
}

export function normalizeScope(scope: string): string {
  const s = scope.trim()
  if (s === '' || /\s/.test(s)) throw new UsageError(`Invalid scope ${JSON.stringify(scope)}.`, {code: 'InvalidScope', suggestions: ['Example: --scope https://management.azure.com/.default']})
  if (/^https?:\/\//i.test(s) && !/\/\.default$/.test(s) && !/\/[^/]+\.[^/]+$/.test(new URL(s).pathname)) {
    // A resource URI (https://vault.azure.net) becomes its .default scope.
    return `${s.replace(/\/+$/, '')}/.default`
  }
  return s
}
