import {createHash, randomBytes} from 'node:crypto'
import {chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {type Logger, silentLogger} from '../output/logger.js'
import {configDir} from './clouds.js'
import type {AccessToken, HcctlCredential} from './credentials.js'

/**
 * A token cache across processes, as the Azure CLI keeps one: access tokens only (never a
 * refresh token, never a secret), reused until shortly before they expire, in one JSON file
 * under the hcctl config folder, mode 0600, replaced atomically (write a temporary file, then
 * rename). Concurrent hcctl processes may overwrite each other's new entries: that costs a
 * sign-in, never a wrong token, because every entry is found by its full key.
 */

/** A token is reused only while it has more than this left (the Azure CLI's margin). */
export const REFRESH_MARGIN_MS = 5 * 60_000
export const TOKEN_CACHE_FILE = 'token-cache.json'

/** What a token was issued for and to whom: a cached token is reused only for the same key. */
export interface TokenCacheKey {
  /** Cloud name and ARM endpoint. */
  cloud: string
  authority: string
  tenant: string
  /** The client id, or the fingerprint of the credential chain's inputs (see createCredential). */
  source: string
  scope: string
}

interface Entry {
  token: string
  expiresOnTimestamp: number
  /** For people reading the file; the key is the hash. */
  scope: string
}

interface CacheFile {
  version: 1
  tokens: Record<string, Entry>
}

export function tokenCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), TOKEN_CACHE_FILE)
}

/** HCCTL_TOKEN_CACHE=0 (or false/off/no) turns the cache off. */
export function tokenCacheEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.HCCTL_TOKEN_CACHE?.trim().toLowerCase()
  return !(v === '0' || v === 'false' || v === 'off' || v === 'no')
}

export function cacheKeyId(key: TokenCacheKey): string {
  return createHash('sha256').update(JSON.stringify([key.cloud, key.authority, key.tenant, key.source, key.scope])).digest('hex')
}

export class TokenCache {
  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached token for this key while it has more than REFRESH_MARGIN_MS left. */
  get(key: TokenCacheKey): AccessToken | undefined {
    const entry = this.read().tokens[cacheKeyId(key)]
    if (!entry || entry.expiresOnTimestamp - this.now() <= REFRESH_MARGIN_MS) return undefined
    return {token: entry.token, expiresOnTimestamp: entry.expiresOnTimestamp}
  }

  set(key: TokenCacheKey, token: AccessToken): void {
    this.update((tokens) => {
      tokens[cacheKeyId(key)] = {token: token.token, expiresOnTimestamp: token.expiresOnTimestamp, scope: key.scope}
    })
  }

  /** Drops the entry for this key (only if it still holds `token`, when given). */
  delete(key: TokenCacheKey, token?: string): void {
    this.update((tokens) => {
      const id = cacheKeyId(key)
      if (tokens[id] && (token === undefined || tokens[id].token === token)) delete tokens[id]
    })
  }

  /** Empties the cache; returns how many tokens it held. */
  clear(): number {
    const count = Object.keys(this.read().tokens).length
    rmSync(this.path, {force: true})
    return count
  }

  private read(): CacheFile {
    try {
      // A file others can read or write is not trusted (and is replaced on the next write).
      if ((statSync(this.path).mode & 0o077) !== 0) return empty()
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<CacheFile>
      if (parsed?.version !== 1 || !parsed.tokens || typeof parsed.tokens !== 'object') return empty()
      return {version: 1, tokens: parsed.tokens}
    } catch {
      return empty()
    }
  }

  private update(change: (tokens: Record<string, Entry>) => void): void {
    const file = this.read()
    change(file.tokens)
    const now = this.now()
    for (const [id, e] of Object.entries(file.tokens)) {
      if (typeof e?.token !== 'string' || !(e.expiresOnTimestamp > now)) delete file.tokens[id]
    }
    const dir = dirname(this.path)
    mkdirSync(dir, {recursive: true, mode: 0o700})
    const tmp = join(dir, `.${TOKEN_CACHE_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    try {
      writeFileSync(tmp, JSON.stringify(file), {mode: 0o600, flag: 'wx'})
      chmodSync(tmp, 0o600) // the mode given to writeFileSync is masked by the umask
      renameSync(tmp, this.path)
    } catch (error) {
      rmSync(tmp, {force: true})
      throw error
    }
  }
}

function empty(): CacheFile {
  return {version: 1, tokens: {}}
}

/** A credential whose tokens can be dropped after the service refused them (a 401). */
export interface CachedCredential extends HcctlCredential {
  /**
   * Drops `token` from the cache and from the sign-in library's memory; true when it came from
   * either (so signing in again may help).
   */
  invalidate(token: string): boolean
}

/**
 * Wraps a credential with the token cache: a hit skips the sign-in (and the import of
 * @azure/identity); a miss signs in and stores the token. A cache that cannot be read or
 * written only costs sign-ins: the failure is logged with --verbose, never raised.
 */
export function cachedCredential(
  inner: HcctlCredential,
  options: {cache: TokenCache; keyFor: (scope: string) => TokenCacheKey; logger?: Logger},
): CachedCredential {
  const logger = options.logger ?? silentLogger
  const fromCache = new Set<string>()
  const handedOut = new Map<string, TokenCacheKey>()
  const safely = <T>(what: string, fn: () => T): T | undefined => {
    try {
      return fn()
    } catch (error) {
      logger.verbose(`token cache: could not ${what} ${options.cache.path}: ${(error as Error).message}`)
      return undefined
    }
  }
  return {
    kind: inner.kind,
    sources: inner.sources,
    async getToken(scopes, getOptions) {
      const scope = Array.isArray(scopes) ? scopes.join(' ') : scopes
      const key = options.keyFor(scope)
      const hit = safely('read', () => options.cache.get(key))
      if (hit) {
        logger.verbose(`token: cached token for ${scope} (expires ${new Date(hit.expiresOnTimestamp).toISOString()})`)
        fromCache.add(hit.token)
        handedOut.set(hit.token, key)
        return hit
      }
      const token = await inner.getToken(scopes, getOptions)
      if (token) {
        handedOut.set(token.token, key)
        safely('write', () => options.cache.set(key, token))
      }
      return token
    },
    invalidate(token) {
      // The sign-in library may hold the token in memory too: it must forget it as well.
      const signedIn = inner.invalidate?.(token) ?? false
      const key = handedOut.get(token)
      // A token signed in for was stored too: drop it from the file either way (if still there).
      if (key) safely('write', () => options.cache.delete(key, token))
      if (!fromCache.has(token)) return signedIn
      // Kept in fromCache: concurrent requests refused with the same token each get `true`.
      logger.verbose('token: the cached token was refused; dropping it and signing in again')
      return true
    },
  }
}
