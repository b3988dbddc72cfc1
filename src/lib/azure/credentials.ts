import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'

import type * as IdentityModule from '@azure/identity'

import {AuthError, ExitCode, HcctlError, UsageError} from '../errors.js'
import {type Logger, silentLogger} from '../output/logger.js'
import {redactText} from '../output/redact.js'
import type {CloudProfile} from './clouds.js'
import {azureProfilePath} from './subscription.js'
import {TokenCache, type TokenCacheKey, cachedCredential, tokenCacheEnabled, tokenCachePath} from './token-cache.js'
import {proxyForHost} from './transport.js'

/** The shape of @azure/identity's credentials (structural, so this module imports nothing heavy). */
export interface AccessToken {
  token: string
  expiresOnTimestamp: number
}
export interface TokenCredential {
  getToken(scopes: string | string[], options?: {abortSignal?: AbortSignal}): Promise<AccessToken | null>
  /**
   * The service refused `token` (HTTP 401): forget it. True when it came from the token cache
   * or from a sign-in this credential can repeat, so that signing in again may help (the ARM
   * client then retries once).
   */
  invalidate?(token: string): boolean
}

export type CredentialKind = 'access-token' | 'profile-service-principal' | 'default-chain'

/** A credential that knows where it looks, so failures can say so. */
export interface HcctlCredential extends TokenCredential {
  readonly kind: CredentialKind
  /** The sources tried, in order, for people (e.g. "Azure CLI (az login)"). */
  readonly sources: string[]
}

export interface CredentialOptions {
  cloud: CloudProfile
  /** A raw bearer token (--access-token / HCCTL_ACCESS_TOKEN). */
  accessToken?: string
  env?: NodeJS.ProcessEnv
  logger?: Logger
}

const CHAIN_SOURCES: Array<[name: string, label: string]> = [
  ['EnvironmentCredential', 'environment service principal (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH)'],
  ['WorkloadIdentityCredential', 'workload identity federation (AZURE_FEDERATED_TOKEN_FILE, as in GitHub Actions and AKS)'],
  ['ManagedIdentityCredential', 'managed identity'],
  ['VisualStudioCodeCredential', 'Visual Studio Code sign-in'],
  ['AzureCliCredential', 'Azure CLI (az login)'],
  ['AzurePowerShellCredential', 'Azure PowerShell (Connect-AzAccount)'],
  ['AzureDeveloperCliCredential', 'Azure Developer CLI (azd auth login)'],
]

/** The sources DefaultAzureCredential tries, honouring AZURE_TOKEN_CREDENTIALS (dev, prod or one name). */
export function defaultChainSources(env: NodeJS.ProcessEnv = process.env): string[] {
  const wanted = env.AZURE_TOKEN_CREDENTIALS?.trim().toLowerCase()
  if (!wanted) return CHAIN_SOURCES.map(([, label]) => label)
  if (wanted === 'prod') return CHAIN_SOURCES.slice(0, 3).map(([, label]) => label)
  if (wanted === 'dev') return CHAIN_SOURCES.slice(3).map(([, label]) => label)
  const one = CHAIN_SOURCES.find(([name]) => name.toLowerCase() === wanted)
  return one ? [one[1]] : [`AZURE_TOKEN_CREDENTIALS=${env.AZURE_TOKEN_CREDENTIALS} (not a known value)`]
}

/**
 * Chooses the credential, in this order:
 * 1. `--access-token` / HCCTL_ACCESS_TOKEN: that bearer token, as is (what ARMCLIENT_TOKEN did);
 * 2. a cloud profile with `defaults` (the emulator) and no AZURE_CLIENT_ID in the environment:
 *    a client-secret sign-in with the profile's principal at the profile's authority;
 * 3. DefaultAzureCredential: environment service principal, workload identity, managed
 *    identity, Azure CLI, ... (see defaultChainSources).
 * The cloud's authority host, instance-discovery setting and CA are passed through.
 * @azure/identity is imported on the first getToken that the token cache cannot answer, never before.
 * Signed-in tokens (2 and 3) go through the token cache (see token-cache.ts) unless
 * HCCTL_TOKEN_CACHE=0; a given token (1) never does.
 */
export function createCredential(options: CredentialOptions): HcctlCredential {
  const env = options.env ?? process.env
  const logger = options.logger ?? silentLogger
  if (options.accessToken !== undefined) return staticTokenCredential(options.accessToken)
  const cloud = options.cloud
  const d = cloud.defaults
  let credential: HcctlCredential
  let who: {tenant: string; source: string}
  if (d?.clientId && d.clientSecret && d.tenantId && !env.AZURE_CLIENT_ID) {
    const sources = [`the ${cloud.name} profile's service principal (${d.clientId} at ${cloud.authorityHost})`]
    credential = lazyCredential('profile-service-principal', sources, cloud, logger, async (identity, common) => new identity.ClientSecretCredential(d.tenantId!, d.clientId!, d.clientSecret!, common))
    who = {tenant: d.tenantId, source: `client:${d.clientId}`}
  } else {
    credential = lazyCredential('default-chain', defaultChainSources(env), cloud, logger, async (identity, common) => new identity.DefaultAzureCredential(common))
    who = chainIdentity(env)
  }
  if (!tokenCacheEnabled(env)) return credential
  const cache = new TokenCache(tokenCachePath(env))
  const keyFor = (scope: string): TokenCacheKey => ({cloud: `${cloud.name} ${cloud.armEndpoint}`, authority: cloud.authorityHost, ...who, scope})
  return cachedCredential(credential, {cache, keyFor, logger})
}

/** Environment variables that decide which identity DefaultAzureCredential signs in as. */
const CHAIN_INPUTS = [
  'AZURE_TOKEN_CREDENTIALS',
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_USERNAME',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_AUTHORITY_HOST',
  'AZURE_ADDITIONALLY_ALLOWED_TENANTS',
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'MSI_ENDPOINT',
  'IMDS_ENDPOINT',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'AZURE_CONFIG_DIR',
]

/**
 * Who the default chain will sign in as, without signing in: the tenant, and a fingerprint of
 * every input that picks the identity (the variables above, whether a client secret is set,
 * and the Azure CLI's signed-in account), so that switching `az` accounts or AZURE_CLIENT_ID
 * never reuses another identity's token. The fingerprint holds no secret (only whether one is set).
 */
export function chainIdentity(env: NodeJS.ProcessEnv = process.env): {tenant: string; source: string} {
  const az = azCliAccount(env)
  const inputs = [...CHAIN_INPUTS.map((name) => `${name}=${env[name] ?? ''}`), `AZURE_CLIENT_SECRET set=${Boolean(env.AZURE_CLIENT_SECRET)}`, `az=${az ? `${az.user}@${az.tenant}` : ''}`]
  return {
    tenant: env.AZURE_TENANT_ID ?? az?.tenant ?? 'organizations',
    source: `chain:${createHash('sha256').update(inputs.join('\n')).digest('hex')}`,
  }
}

/** The Azure CLI's signed-in account (its default subscription's user and tenant), read from azureProfile.json. */
export function azCliAccount(env: NodeJS.ProcessEnv = process.env): {user: string; tenant: string} | undefined {
  try {
    const text = readFileSync(azureProfilePath(env), 'utf8').replace(/^\uFEFF/, '')
    const subs = (JSON.parse(text) as {subscriptions?: Array<{isDefault?: boolean; tenantId?: string; user?: {name?: string; type?: string}}>}).subscriptions ?? []
    const current = subs.find((x) => x.isDefault)
    if (!current) return undefined
    return {user: `${current.user?.type ?? ''}:${current.user?.name ?? ''}`, tenant: current.tenantId ?? ''}
  } catch {
    return undefined
  }
}

type Identity = typeof IdentityModule

function lazyCredential(
  kind: CredentialKind,
  sources: string[],
  cloud: CloudProfile,
  logger: Logger,
  make: (identity: Identity, common: Record<string, unknown>) => Promise<TokenCredential>,
): HcctlCredential {
  let inner: Promise<TokenCredential> | undefined
  // Tokens handed out, and the latest one: see invalidate.
  const handedOut = new Set<string>()
  let latest: string | undefined
  return {
    kind,
    sources,
    async getToken(scopes, getOptions) {
      const instance = (inner ??= (async () => {
        logger.verbose(`token: signing in with ${kind === 'default-chain' ? `the default credential chain (${sources.length} sources)` : sources[0]}`)
        const identity = await import('@azure/identity')
        const common: Record<string, unknown> = {authorityHost: cloud.authorityHost}
        if (cloud.disableInstanceDiscovery) common.disableInstanceDiscovery = true
        if (cloud.ca) common.tlsOptions = {ca: cloud.ca}
        try {
          return await make(identity, common)
        } catch (error) {
          throw authFailed(scopes, sources, error)
        }
      })())
      const credential = await instance
      try {
        const token = await credential.getToken(scopes, getOptions)
        if (!token) throw new Error('no token returned')
        handedOut.add(token.token)
        if (inner === instance) latest = token.token
        return token
      } catch (error) {
        if (getOptions?.abortSignal?.aborted) throw error
        const unreachable = kind === 'profile-service-principal' ? networkFailure(cloud, error) : undefined
        if (unreachable) throw unreachable
        const failure = authFailed(scopes, sources, error)
        for (const r of (failure.data?.reasons as string[] | undefined) ?? []) logger.verbose(`token: ${r}`)
        throw failure
      }
    },
    /**
     * The service refused a token we handed out (a 401: expired by its clock, revoked). The
     * identity library keeps tokens in memory until minutes before their stated expiry, so asking
     * it again would hand back the same token: drop the credential so the next getToken signs
     * in afresh. Concurrent requests refused with the same token drop it once.
     */
    invalidate(token) {
      if (!handedOut.has(token)) return false
      if (token === latest) {
        logger.verbose('token: the service refused the access token; signing in again')
        inner = undefined
        latest = undefined
      }
      return true
    },
  }
}

const NETWORK = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|socket hang up|endpoints_resolution_error|network_error|Failed to fetch|proxy/i

/**
 * A sign-in that failed because the token endpoint could not be reached (the emulator is
 * stopped, a dead proxy) is a network failure (exit 1) naming the host, the cause and the
 * proxy; not a sign-in failure with advice to run `az login`.
 */
export function networkFailure(cloud: CloudProfile, error: unknown): HcctlError | undefined {
  const reasons = reasonsOf(error)
  const causes = causeChain(error)
  const hit = [...reasons, ...causes].find((r) => NETWORK.test(r))
  if (!hit) return undefined
  let host = cloud.authorityHost
  try {
    host = new URL(cloud.authorityHost).host
  } catch {
    // keep it as given
  }
  const proxy = proxyForHost(host.replace(/:\d+$/, ''), process.env)
  const errno = /(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)/.exec(causes.join(' ') + ' ' + hit)?.[1]
  const cause = errno ?? (/endpoints_resolution_error/.test(hit) ? 'no answer to the sign-in metadata request (endpoints_resolution_error)' : hit.slice(0, 200))
  return new HcctlError(`Cannot reach the sign-in endpoint ${host}${proxy ? ` through the proxy ${redactText(proxy)}` : ''}: ${cause}.`, ExitCode.Unexpected, {
    code: 'NetworkError',
    cause: error,
    data: {host, cause, ...(proxy ? {proxy: redactText(proxy)} : {})},
    suggestions: [proxy ? 'Check that the proxy is running, or exclude the host with NO_PROXY.' : `Check that ${host} is up (for the emulator: \`hcctl emulator start\`) and reachable from here.`],
  })
}

function causeChain(error: unknown): string[] {
  const out: string[] = []
  let e = error as {message?: unknown; code?: unknown; cause?: unknown; errors?: unknown[]} | undefined
  for (let i = 0; e && i < 6; i++) {
    if (typeof e.code === 'string') out.push(e.code)
    if (typeof e.message === 'string') out.push(e.message)
    for (const inner of Array.isArray(e.errors) ? e.errors : []) out.push(...causeChain(inner))
    e = e.cause as typeof e
  }
  return out
}

/** AuthError (exit 5) naming the sources tried and the reason each gave. */
export function authFailed(scopes: string | string[], sources: string[], error: unknown): AuthError {
  const reasons = reasonsOf(error)
  const scope = Array.isArray(scopes) ? scopes.join(' ') : scopes
  const tried = sources.length === 1 ? sources[0] : sources.join('; ')
  const detail = sources.length === 1 && reasons[0] ? ` ${reasons[0]}` : ''
  return new AuthError(`Could not get an access token for ${scope}. Tried: ${tried}.${detail}`, {
    code: 'AuthenticationFailed',
    cause: error,
    data: {sources, reasons},
    suggestions: [
      'Sign in with `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET (or a federated token via AZURE_FEDERATED_TOKEN_FILE).',
      'Or pass a bearer token with --access-token / HCCTL_ACCESS_TOKEN.',
      'Run with --verbose to see what each source answered.',
    ],
  })
}

function reasonsOf(error: unknown): string[] {
  const e = error as {message?: string; errors?: unknown[]}
  const list = Array.isArray(e?.errors) && e.errors.length > 0 ? e.errors : [error]
  return list.map((x) => {
    const item = x as {name?: string; message?: string}
    const first = String(item?.message ?? x)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ')
    const text = first.length > 500 ? `${first.slice(0, 500)}…` : first
    return redactText(item?.name && item.name !== 'Error' ? `${item.name}: ${text}` : text)
  })
}

/** A credential that hands out the given bearer token (its `exp` claim, if any, as expiry). */
export function staticTokenCredential(raw: string): HcctlCredential {
  const token = raw.trim().replace(/^Bearer\s+/i, '')
  if (token === '' || /\s/.test(token)) {
    throw new UsageError('The access token is empty or contains whitespace.', {
      code: 'InvalidAccessToken',
      suggestions: ['Pass the bare token: --access-token "$(az account get-access-token --query accessToken -o tsv)".'],
    })
  }
  const exp = decodeJwt(token)?.claims.exp
  const expiresOnTimestamp = typeof exp === 'number' ? exp * 1000 : Date.now() + 3600_000
  return {
    kind: 'access-token',
    sources: ['the token from --access-token / HCCTL_ACCESS_TOKEN'],
    async getToken() {
      return {token, expiresOnTimestamp}
    },
  }
}

export interface DecodedJwt {
  header: Record<string, unknown>
  claims: Record<string, unknown>
}

/** Decodes a JWT without verifying it (for display); undefined when it is not a JWT. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    const part = (s: string) => JSON.parse(Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as unknown
    const header = part(parts[0]!)
    const claims = part(parts[1]!)
    if (!header || typeof header !== 'object' || !claims || typeof claims !== 'object') return undefined
    return {header: header as Record<string, unknown>, claims: claims as Record<string, unknown>}
  } catch {
    return undefined
  }
}
