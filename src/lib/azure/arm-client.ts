import {randomUUID} from 'node:crypto'

import {AuthError, BugError, HcctlError, ExitCode, isHcctlError} from '../errors.js'
import {type Logger, silentLogger} from '../output/logger.js'
import {redactText} from '../output/redact.js'
import {ArmError} from './arm-error.js'
import {DEFAULT_LRO, type LroOptions, checkPollUrl, followOperation} from './arm-lro.js'
import {DEFAULT_RETRY, type NoRetry, type RetryContext, type RetryOptions, defaultSleep, isIdempotent, isRetryable, waitBeforeRetry} from './arm-retry.js'
import type {ArmClient, ArmRequest, ArmResponse, HttpMethod} from './arm-types.js'
import {type CloudProfile, armScope} from './clouds.js'
import {armOrigin, originOf, pathOnly, resolveArmUrl} from './arm-url.js'
import type {AccessToken, TokenCredential} from './credentials.js'
import {CloudAgents, type ProxyOptions, type Transport, TransportError, type TransportResponse, httpsTransport} from './transport.js'

export {DEFAULT_RETRY, type RetryOptions, defaultSleep, isIdempotent, retryAfterMs} from './arm-retry.js'
export {DEFAULT_LRO, type LroOptions} from './arm-lro.js'

export const DEFAULT_TIMEOUT_MS = 60_000

export interface ArmClientOptions {
  cloud: CloudProfile
  credential: TokenCredential
  /** The subscription, or a function that resolves it when first needed (may throw UsageError). */
  subscriptionId: string | (() => string)
  logger?: Logger
  /** Per-request deadline (whole answer), default 60 s. */
  timeoutMs?: number
  retry?: Partial<RetryOptions>
  lro?: Partial<LroOptions>
  userAgent?: string
  /** Aborts every request of this client (e.g. Ctrl-C). */
  signal?: AbortSignal
  proxy?: ProxyOptions
  /** Test seams. */
  transport?: Transport
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  now?: () => number
  random?: () => number
}

/**
 * The ARM client: bearer auth from the credential, api-version from the provider table,
 * `x-ms-client-request-id` on every request, retries for idempotent requests (429/5xx/network,
 * Retry-After or capped exponential backoff with full jitter: arm-retry.ts), long-running
 * operations (arm-lro.ts), URLs checked to stay on the ARM endpoint (arm-url.ts), nextLink
 * paging, and one typed error (ArmError) for every failed answer. `send` here ties them together.
 */
export class AzureArmClient implements ArmClient {
  readonly cloud: CloudProfile
  private readonly credential: TokenCredential
  private readonly subscription: string | (() => string)
  private readonly logger: Logger
  private readonly timeoutMs: number
  private readonly retry: RetryOptions
  private readonly lro: LroOptions
  private readonly userAgent: string
  private readonly signal?: AbortSignal
  private readonly transport: Transport
  private readonly agents?: CloudAgents
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  private readonly now: () => number
  private readonly random: () => number
  private readonly origin: string

  constructor(options: ArmClientOptions) {
    this.cloud = options.cloud
    this.credential = options.credential
    this.subscription = options.subscriptionId
    this.logger = options.logger ?? silentLogger
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.retry = {...DEFAULT_RETRY, ...options.retry}
    this.lro = {...DEFAULT_LRO, ...options.lro}
    this.userAgent = options.userAgent ?? 'hcctl'
    this.signal = options.signal
    if (options.transport) {
      this.transport = options.transport
    } else {
      this.agents = new CloudAgents(options.cloud, options.proxy)
      this.transport = httpsTransport(this.agents)
    }
    this.sleep = options.sleep ?? defaultSleep
    this.now = options.now ?? Date.now
    this.random = options.random ?? Math.random
    this.origin = armOrigin(options.cloud)
  }

  get subscriptionId(): string {
    return typeof this.subscription === 'function' ? this.subscription() : this.subscription
  }

  /** Closes kept-alive connections (lets the process exit promptly). */
  close(): void {
    this.agents?.destroy()
  }

  async get<T = unknown>(path: string, options: {apiVersion?: string; allowNotFound?: boolean; signal?: AbortSignal} = {}): Promise<T | undefined> {
    try {
      const res = await this.request<T>({method: 'GET', path, apiVersion: options.apiVersion, signal: options.signal})
      return res.body
    } catch (error) {
      if (options.allowNotFound && error instanceof ArmError && error.status === 404) return undefined
      throw error
    }
  }

  async list<T = unknown>(path: string, options: {apiVersion?: string; signal?: AbortSignal} = {}): Promise<T[]> {
    const items: T[] = []
    const seen = new Set<string>()
    let next: string | undefined = path
    let first = true
    while (next) {
      const res: ArmResponse<unknown> = await this.request({method: 'GET', path: next, apiVersion: first ? options.apiVersion : undefined, signal: options.signal})
      first = false
      const body = res.body as {value?: unknown; nextLink?: unknown} | undefined
      if (!body || typeof body !== 'object' || !Array.isArray(body.value)) {
        throw new BugError(`ARM answered a list request with a body that has no "value" array (GET ${redactText(pathOnly(next))}).`, {
          code: 'InvalidResponse',
          suggestions: ['Check that the URL names a collection; run `hcctl arm get` on it to see the raw answer.'],
        })
      }
      items.push(...(body.value as T[]))
      const nextLink = typeof body.nextLink === 'string' && body.nextLink !== '' ? body.nextLink : undefined
      if (nextLink && seen.has(nextLink)) {
        throw new BugError('ARM returned the same nextLink twice; stopping to avoid an endless loop.', {code: 'InvalidResponse'})
      }
      if (nextLink) {
        seen.add(nextLink)
        if (/^https?:\/\//i.test(nextLink) && originOf(nextLink).toLowerCase() !== this.origin) {
          throw new BugError(`ARM returned a nextLink on ${redactText(originOf(nextLink))}, which is not the ARM endpoint; not sending the token there.`, {code: 'InvalidResponse'})
        }
      }
      next = nextLink
    }
    return items
  }

  async request<T = unknown>(request: ArmRequest): Promise<ArmResponse<T>> {
    const url = this.resolveUrl(request.path, request.apiVersion)
    const signal = anySignal(this.signal, request.signal)
    const idempotent = isIdempotent(request)
    const initial = await this.send(request.method, url, request.body, request.headers, idempotent, signal)
    if (!request.wait) return initial as ArmResponse<T>
    return (await this.followOperation(request.method, url, initial, signal)) as ArmResponse<T>
  }

  /**
   * The absolute URL for a path (see resolveArmUrl): on the ARM endpoint only, `{subscriptionId}`
   * filled in, api-version given, else the URL's, else the provider table's.
   */
  resolveUrl(path: string, apiVersion?: string, options: {defaultApiVersion?: boolean} = {}): string {
    return resolveArmUrl({armEndpoint: this.cloud.armEndpoint, subscriptionId: () => this.subscriptionId}, path, apiVersion, options)
  }

  private async token(signal?: AbortSignal): Promise<string> {
    let token: AccessToken | null
    try {
      token = await this.credential.getToken(armScope(this.cloud), {abortSignal: signal})
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error
      if (isHcctlError(error)) throw error
      throw new AuthError(`Could not get an access token for ${armScope(this.cloud)}: ${redactText((error as Error).message ?? String(error))}`, {cause: error})
    }
    if (!token?.token) throw new AuthError(`No access token for ${armScope(this.cloud)}.`)
    return token.token
  }

  /** One logical request with retries (and one fresh sign-in after a 401 to a cached token); throws ArmError for statuses >= 400. */
  private async send(method: HttpMethod, url: string, body: unknown, extraHeaders: Record<string, string> | undefined, idempotent: boolean, signal?: AbortSignal): Promise<ArmResponse> {
    const clientRequestId = randomUUID()
    const started = this.now()
    const payload = body === undefined ? undefined : JSON.stringify(body)
    let signedInAgain = false
    let throttled = 0
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw signal.reason
      const token = await this.token(signal)
      const headers: Record<string, string> = {
        accept: 'application/json',
        'user-agent': this.userAgent,
        'x-ms-client-request-id': clientRequestId,
        authorization: `Bearer ${token}`,
        ...(payload === undefined ? {} : {'content-type': 'application/json'}),
      }
      for (const [k, v] of Object.entries(extraHeaders ?? {})) headers[k.toLowerCase()] = v
      this.logger.verbose(`→ ${method} ${url}${attempt > 1 ? ` (attempt ${attempt})` : ''}`)
      const t0 = this.now()
      let response: TransportResponse | undefined
      let failure: TransportError | undefined
      try {
        response = await this.transport({method, url, headers, body: payload, timeoutMs: this.timeoutMs, signal})
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? error
        failure = error instanceof TransportError ? error : new TransportError((error as Error).message ?? String(error), {code: (error as {code?: string}).code, cause: error})
      }
      const ms = Math.round(this.now() - t0)
      if (response) {
        const requestId = response.headers['x-ms-request-id'] ?? response.headers['x-ms-correlation-request-id'] ?? clientRequestId
        this.logger.verbose(`← ${response.status} ${method} ${url} ${ms}ms ${requestId}`)
        if (response.status < 400) return this.toArmResponse(response, method, url, requestId)
        if (response.status === 401 && !signedInAgain && this.credential.invalidate?.(token)) {
          // A cached token ARM refuses (revoked, the emulator restarted): drop it and sign in once
          // more. Safe for any method: a 401 means the request was not carried out.
          signedInAgain = true
          attempt--
          continue
        }
        const error = ArmError.fromResponse({status: response.status, headers: response.headers, body: response.body, method, url})
        if (!isRetryable(response.status, idempotent)) throw error
        if (response.status === 429) throttled++
        const stop = await waitBeforeRetry(this.retryContext, {attempt, throttled, started, method, url, status: response.status, headers: response.headers}, signal)
        if (stop) throw giveUp(error, stop)
        continue
      }
      const f = failure!
      this.logger.verbose(`← ${f.timeout ? 'timeout' : 'error'} ${method} ${url} ${ms}ms ${f.code}`)
      const error = networkError(f, method, url, this.cloud)
      if (!isRetryable(undefined, idempotent, f.tls)) throw error
      const stop = await waitBeforeRetry(this.retryContext, {attempt, throttled, started, method, url, cause: f.code}, signal)
      if (stop) throw giveUp(error, stop)
    }
  }

  private get retryContext(): RetryContext {
    return {retry: this.retry, logger: this.logger, now: this.now, random: this.random, sleep: this.sleep}
  }

  private toArmResponse(response: TransportResponse, method: string, url: string, requestId: string): ArmResponse {
    const text = response.body.replace(/^\uFEFF/, '')
    let body: unknown
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text)
      } catch (error) {
        const type = response.headers['content-type'] ?? ''
        if (/json/i.test(type) || /^\s*[[{]/.test(text)) {
          throw new HcctlError(
            `ARM answered ${response.status} to ${method} ${redactText(pathOnly(url))} with invalid JSON (${(error as Error).message}).`,
            ExitCode.Unexpected,
            {code: 'InvalidResponse', data: {status: response.status, requestId}, suggestions: ['Re-run with --verbose; if it persists, report the request id.']},
          )
        }
        body = text
      }
    }
    return {status: response.status, headers: response.headers, body, requestId}
  }

  /** Follows a long-running operation to a terminal state (see arm-lro.ts). */
  private followOperation(method: HttpMethod, url: string, initial: ArmResponse, signal?: AbortSignal): Promise<ArmResponse> {
    return followOperation(
      {
        lro: this.lro,
        logger: this.logger,
        now: this.now,
        sleep: this.sleep,
        signal,
        checkPollUrl: (pollUrl) => checkPollUrl(pollUrl, this.origin),
        get: (target, isOriginal) => this.send('GET', this.resolveUrl(target, undefined, {defaultApiVersion: isOriginal}), undefined, undefined, true, signal),
      },
      method,
      url,
      initial,
    )
  }
}

function networkError(f: TransportError, method: string, url: string, cloud: CloudProfile): HcctlError {
  const where = `${method} ${redactText(pathOnly(url))}`
  if (f.timeout) {
    return new HcctlError(`No answer from ${originOf(url)} within the timeout (${where}).`, ExitCode.Unexpected, {
      code: 'RequestTimeout',
      suggestions: ['Retry later, or raise the limit with HCCTL_HTTP_TIMEOUT (seconds).'],
      cause: f,
    })
  }
  if (f.tls) {
    return new HcctlError(`TLS verification of ${originOf(url)} failed: ${redactText(f.message)}.`, ExitCode.Unexpected, {
      code: 'TlsError',
      suggestions: [
        cloud.caPath
          ? `The cloud profile trusts only the CA in ${cloud.caPath}; check that it signed this server's certificate.`
          : 'If this is a private endpoint (the emulator, a proxy that inspects TLS), give the cloud profile a caPath.',
      ],
      cause: f,
    })
  }
  return new HcctlError(`Cannot reach ${originOf(url)}: ${redactText(f.message)} (${f.code}).`, ExitCode.Unexpected, {
    code: 'NetworkError',
    suggestions: ['Check the network, the cloud (--cloud) and any proxy settings (HTTPS_PROXY / NO_PROXY).'],
    cause: f,
  })
}

/**
 * The last error, told why retrying stopped: a Retry-After beyond the budget leads the message
 * (the user must know it did not wait); a used-up count or budget is one more suggestion.
 */
function giveUp(error: HcctlError, stop: NoRetry): HcctlError {
  if (stop.reason === 'budget' && stop.retryAfter) {
    error.message = `${stop.message} ${error.message}`
    error.suggestions.unshift(`Retry in ${Math.ceil(stop.waitMs / 1000)} s, or raise the budget with HCCTL_RETRY_BUDGET (seconds).`)
  } else {
    error.suggestions.push(stop.message)
  }
  return error
}

/** A signal that aborts when any of the given ones does. */
function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const list = signals.filter((s): s is AbortSignal => s !== undefined)
  if (list.length <= 1) return list[0]
  return AbortSignal.any(list)
}
