import type {RelayAPI} from '@azure/arm-relay'

import {UsageError} from '../errors.js'
import {type Logger, silentLogger} from '../output/logger.js'
import {type ArmClientOptions, AzureArmClient} from './arm-client.js'
import {type CloudProfile, armScope} from './clouds.js'
import {type AccessToken, type HcctlCredential, type TokenCredential, createCredential} from './credentials.js'
import {type ResolvedSubscription, resolveSubscription} from './subscription.js'

export interface AzureContextOptions {
  cloud: CloudProfile
  /** --subscription */
  subscription?: string
  /** --access-token / HCCTL_ACCESS_TOKEN */
  accessToken?: string
  logger?: Logger
  /** Aborts every request made through this context (Ctrl-C). */
  signal?: AbortSignal
  env?: NodeJS.ProcessEnv
  /** e.g. `hcctl/0.1.0` */
  userAgent?: string
  /** Test seam: use this credential instead of choosing one. */
  credential?: TokenCredential
  /** Test seam and tuning: transport, retry, LRO and timeout options of the ARM client. */
  armOptions?: Partial<Omit<ArmClientOptions, 'cloud' | 'credential' | 'subscriptionId'>>
}

/** Everything a command needs to talk to Azure; nothing is resolved or imported before it is used. */
export interface AzureContext {
  readonly cloud: CloudProfile
  readonly credential: HcctlCredential
  /** The subscription id, resolved on first read (throws UsageError naming the ways to set one). */
  readonly subscriptionId: string
  /** The subscription with where it came from. */
  subscription(): ResolvedSubscription
  readonly arm: AzureArmClient
  /** `@azure/arm-relay`'s client for this cloud (imported on first call). */
  relayApi(): Promise<RelayAPI>
  /** A token for a scope (default: the cloud's ARM scope). */
  getToken(scope?: string): Promise<AccessToken>
  /** Closes kept-alive connections. */
  close(): void
}

/**
 * Builds the Azure context for a command: the credential (see createCredential), the
 * subscription (see resolveSubscription, lazily), the ARM client and the Relay SDK client,
 * all bound to one cloud profile (its endpoints and CA).
 *
 * Environment knobs (real product options, documented in the README): HCCTL_HTTP_TIMEOUT
 * (seconds per request, default 60), HCCTL_MAX_RETRIES (default 4), HCCTL_LRO_TIMEOUT
 * (seconds, default 900), HCCTL_PROXY_LOOPBACK=1 (send loopback traffic through HTTPS_PROXY too).
 */
export function createAzureContext(options: AzureContextOptions): AzureContext {
  const env = options.env ?? process.env
  const logger = options.logger ?? silentLogger
  const cloud = options.cloud
  const credential: HcctlCredential = options.credential
    ? {kind: 'access-token', sources: ['a credential given by the caller'], getToken: (s, o) => options.credential!.getToken(s, o)}
    : createCredential({cloud, accessToken: options.accessToken, env, logger})
  let resolved: ResolvedSubscription | undefined
  const subscription = () => (resolved ??= resolveSubscription({flag: options.subscription, cloud, env}))
  const tuning = tuningFromEnv(env)
  const arm = new AzureArmClient({
    cloud,
    credential,
    subscriptionId: () => subscription().id,
    logger,
    signal: options.signal,
    userAgent: options.userAgent,
    proxy: {env, loopback: tuning.proxyLoopback},
    ...(tuning.timeoutMs === undefined ? {} : {timeoutMs: tuning.timeoutMs}),
    retry: {...(tuning.maxRetries === undefined ? {} : {maxRetries: tuning.maxRetries}), ...options.armOptions?.retry},
    lro: {...(tuning.lroTimeoutMs === undefined ? {} : {timeoutMs: tuning.lroTimeoutMs}), ...options.armOptions?.lro},
    ...stripUndefined({...options.armOptions, retry: undefined, lro: undefined}),
  })
  let relay: Promise<RelayAPI> | undefined
  return {
    cloud,
    credential,
    get subscriptionId() {
      return subscription().id
    },
    subscription,
    arm,
    relayApi() {
      relay ??= makeRelayApi(cloud, credential, subscription().id, logger, options.userAgent)
      return relay
    },
    async getToken(scope = armScope(cloud)) {
      const token = await credential.getToken(scope, {abortSignal: options.signal})
      if (!token) throw new UsageError(`No token for ${scope}.`)
      return token
    },
    close() {
      arm.close()
    },
  }
}

async function makeRelayApi(cloud: CloudProfile, credential: TokenCredential, subscriptionId: string, logger: Logger, userAgent?: string): Promise<RelayAPI> {
  const {RelayAPI} = await import('@azure/arm-relay')
  const client = new RelayAPI(credential as ConstructorParameters<typeof RelayAPI>[0], subscriptionId, {
    endpoint: cloud.armEndpoint,
    $host: cloud.armEndpoint,
    credentialScopes: [armScope(cloud)],
    ...(cloud.ca ? {tlsOptions: {ca: cloud.ca}} : {}),
    ...(userAgent ? {userAgentOptions: {userAgentPrefix: userAgent}} : {}),
  })
  // Tokens as the ARM client takes them: asked of the credential (and its cache) for each
  // request, and after a 401 dropped and signed in for once more. The SDK's own bearer policy
  // keeps a token until two minutes before its stated expiry and never retries a plain 401, so
  // a token ARM refuses early (clock skew, revoked, expired mid-command) failed the command.
  client.pipeline.removePolicy({name: 'bearerTokenAuthenticationPolicy'})
  client.pipeline.addPolicy(refreshingBearerPolicy(credential, armScope(cloud), logger), {phase: 'Sign'})
  // The same --verbose lines as the ARM client.
  client.pipeline.addPolicy({
    name: 'hcctlVerboseLog',
    async sendRequest(request, next) {
      const t0 = Date.now()
      logger.verbose(`→ ${request.method} ${request.url}`)
      try {
        const response = await next(request)
        logger.verbose(`← ${response.status} ${request.method} ${request.url} ${Date.now() - t0}ms ${response.headers.get('x-ms-request-id') ?? request.requestId}`)
        return response
      } catch (error) {
        logger.verbose(`← error ${request.method} ${request.url} ${Date.now() - t0}ms ${(error as Error).message}`)
        throw error
      }
    },
  })
  return client
}

type SdkPolicy = Parameters<RelayAPI['pipeline']['addPolicy']>[0]
type SdkResponse = Awaited<ReturnType<SdkPolicy['sendRequest']>>

/** A bearer-token pipeline policy that signs in once more after a 401 to a token the credential can replace. */
export function refreshingBearerPolicy(credential: TokenCredential, scope: string, logger: Logger): SdkPolicy {
  return {
    name: 'hcctlBearerToken',
    async sendRequest(request, next) {
      const authorize = async () => {
        const token = await credential.getToken(scope, {abortSignal: request.abortSignal as AbortSignal | undefined})
        if (!token) throw new UsageError(`No token for ${scope}.`)
        request.headers.set('authorization', `Bearer ${token.token}`)
        return token.token
      }
      const send = async (): Promise<{response?: SdkResponse; error?: unknown}> => {
        try {
          return {response: await next(request)}
        } catch (error) {
          const response = (error as {response?: SdkResponse}).response
          return response ? {response, error} : Promise.reject(error)
        }
      }
      const token = await authorize()
      let result = await send()
      if (result.response?.status === 401 && credential.invalidate?.(token)) {
        logger.verbose('token: ARM refused the access token (401); signed in again')
        await authorize()
        result = await send()
      }
      if (result.error) throw result.error
      return result.response!
    },
  }
}

interface Tuning {
  timeoutMs?: number
  maxRetries?: number
  lroTimeoutMs?: number
  proxyLoopback: boolean
}

export function tuningFromEnv(env: NodeJS.ProcessEnv): Tuning {
  const seconds = (name: string, min: number, max: number): number | undefined => {
    const raw = env[name]
    if (raw === undefined || raw.trim() === '') return undefined
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`${name}=${raw} is not valid: expected a number from ${min} to ${max}.`, {code: 'InvalidSetting'})
    }
    return n
  }
  const timeout = seconds('HCCTL_HTTP_TIMEOUT', 0.05, 3600)
  const retries = seconds('HCCTL_MAX_RETRIES', 0, 20)
  const lro = seconds('HCCTL_LRO_TIMEOUT', 1, 86_400)
  return {
    timeoutMs: timeout === undefined ? undefined : Math.round(timeout * 1000),
    maxRetries: retries === undefined ? undefined : Math.floor(retries),
    lroTimeoutMs: lro === undefined ? undefined : Math.round(lro * 1000),
    proxyLoopback: env.HCCTL_PROXY_LOOPBACK === '1' || env.HCCTL_PROXY_LOOPBACK === 'true',
  }
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
