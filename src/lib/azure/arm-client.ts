import {randomUUID} from 'node:crypto'

import {AuthError, BugError, HcctlError, ExitCode, UsageError, isHcctlError} from '../errors.js'
import {type Logger, silentLogger} from '../output/logger.js'
import {redactText} from '../output/redact.js'
import {apiVersionFor, providerOf} from './api-versions.js'
import {ArmError} from './arm-error.js'
import type {ArmClient, ArmRequest, ArmResponse, HttpMethod} from './arm-types.js'
import {type CloudProfile, armScope} from './clouds.js'
import type {AccessToken, TokenCredential} from './credentials.js'
import {CloudAgents, type ProxyOptions, type Transport, TransportError, type TransportResponse, axiosTransport} from './transport.js'

export interface RetryOptions {
  /** Retries after the first attempt (so attempts = maxRetries + 1). */
  maxRetries: number
  /** First backoff ceiling; doubles each retry (full jitter: a random delay in [0, ceiling]). */
  baseDelayMs: number
  maxDelayMs: number
  /** No retry starts once this much time has passed since the first attempt. */
  maxElapsedMs: number
}

export interface LroOptions {
  /** Give up polling after this long. */
  timeoutMs: number
  /** Poll interval when the service sends no Retry-After; grows by `factor` up to `maxIntervalMs`. */
  initialIntervalMs: number
  maxIntervalMs: number
  factor: number
}

export const DEFAULT_RETRY: RetryOptions = {maxRetries: 4, baseDelayMs: 800, maxDelayMs: 30_000, maxElapsedMs: 120_000}
export const DEFAULT_LRO: LroOptions = {timeoutMs: 15 * 60_000, initialIntervalMs: 1000, maxIntervalMs: 10_000, factor: 1.5}
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

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504])
const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'cancelled'])
/** POST actions that only read (safe to repeat): listKeys, listConnectionStrings, checkNameAvailability, ... */
const SAFE_POST = /\/(list[a-z]*|checknameavailability)$/i

export function isIdempotent(request: Pick<ArmRequest, 'method' | 'path' | 'idempotent'>): boolean {
  if (request.idempotent !== undefined) return request.idempotent
  if (request.method !== 'POST') return true
  return SAFE_POST.test(request.path.split('?')[0]!.replace(/\/+$/, ''))
}

/** Retry-After (seconds or HTTP date) or retry-after-ms / x-ms-retry-after-ms, in ms. */
export function retryAfterMs(headers: Record<string, string>, now: number = Date.now()): number | undefined {
  for (const h of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = headers[h]
    if (v !== undefined && /^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v))
  }
  const v = headers['retry-after']?.trim()
  if (!v) return undefined
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000)
  const date = Date.parse(v)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

/**
 * The ARM client: bearer auth from the credential, api-version from the provider table,
 * `x-ms-client-request-id` on every request, retries for idempotent requests (429/5xx/network,
 * Retry-After or capped exponential backoff with full jitter), long-running operations,
 * nextLink paging, and one typed error (ArmError) for every failed answer.
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
      this.transport = axiosTransport(this.agents)
    }
    this.sleep = options.sleep ?? defaultSleep
    this.now = options.now ?? Date.now
    this.random = options.random ?? Math.random
    this.origin = new URL(options.cloud.armEndpoint).origin.toLowerCase()
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
   * The absolute URL for a path: relative paths are joined to the ARM endpoint, absolute ones
   * must be on it (the ARM token goes nowhere else); `{subscriptionId}` is filled in; the
   * api-version is the given one, else the URL's, else the provider table's.
   */
  resolveUrl(path: string, apiVersion?: string, options: {defaultApiVersion?: boolean} = {}): string {
    let raw = path.trim()
    if (/\{subscriptionid\}/i.test(raw)) raw = raw.replace(/\{subscriptionid\}/gi, encodeURIComponent(this.subscriptionId))
    let url: URL
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
      try {
        url = new URL(raw)
      } catch {
        throw new UsageError(`Invalid URL ${JSON.stringify(redactText(raw))}.`, {code: 'InvalidUrl'})
      }
      if (url.origin.toLowerCase() !== this.origin) {
        throw new UsageError(`The URL ${redactText(url.origin)} is not this cloud's ARM endpoint (${this.cloud.armEndpoint}); hcctl sends its ARM token only there.`, {
          code: 'NotArmEndpoint',
          suggestions: ['Use a path relative to the ARM endpoint (/subscriptions/...), or choose the matching cloud with --cloud.'],
        })
      }
    } else {
      if (!raw.startsWith('/')) raw = `/${raw}`
      try {
        url = new URL(this.cloud.armEndpoint.replace(/\/+$/, '') + raw)
      } catch {
        throw new UsageError(`Invalid path ${JSON.stringify(redactText(raw))}.`, {code: 'InvalidUrl'})
      }
    }
    let text = url.toString()
    const has = /[?&]api-version=[^&]*/i.test(url.search)
    if (apiVersion) {
      text = has ? text.replace(/([?&]api-version=)[^&#]*/i, `$1${encodeURIComponent(apiVersion)}`) : appendQuery(text, `api-version=${encodeURIComponent(apiVersion)}`)
    } else if (!has && options.defaultApiVersion !== false) {
      const version = apiVersionFor(url.pathname)
      if (!version) {
        const provider = providerOf(url.pathname)
        throw new UsageError(`No api-version for ${provider ? `provider ${provider}` : `the path ${url.pathname}`}: hcctl only knows Microsoft.Web, Microsoft.Relay and Microsoft.Resources.`, {
          code: 'MissingApiVersion',
          suggestions: ['Add ?api-version=YYYY-MM-DD to the URL, or pass --api-version.'],
        })
      }
      text = appendQuery(text, `api-version=${version}`)
    }
    return text
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

  /** One logical request with retries; throws ArmError for statuses >= 400. */
  private async send(method: HttpMethod, url: string, body: unknown, extraHeaders: Record<string, string> | undefined, idempotent: boolean, signal?: AbortSignal): Promise<ArmResponse> {
    const clientRequestId = randomUUID()
    const started = this.now()
    const payload = body === undefined ? undefined : JSON.stringify(body)
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw signal.reason
      const headers: Record<string, string> = {
        accept: 'application/json',
        'user-agent': this.userAgent,
        'x-ms-client-request-id': clientRequestId,
        authorization: `Bearer ${await this.token(signal)}`,
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
        const error = ArmError.fromResponse({status: response.status, headers: response.headers, body: response.body, method, url})
        if (!idempotent || !RETRYABLE_STATUS.has(response.status)) throw error
        const wait = retryAfterMs(response.headers, this.now())
        const delay = wait ?? this.backoff(attempt)
        if (!this.mayRetry(attempt, started, delay)) throw error
        this.logger.verbose(`  retrying in ${delay}ms after ${response.status}${wait === undefined ? '' : ' (Retry-After)'} (retry ${attempt}/${this.retry.maxRetries})`)
        await this.sleep(delay, signal)
        continue
      }
      const f = failure!
      this.logger.verbose(`← ${f.timeout ? 'timeout' : 'error'} ${method} ${url} ${ms}ms ${f.code}`)
      const error = networkError(f, method, url, this.cloud)
      if (!idempotent || f.tls) throw error
      const delay = this.backoff(attempt)
      if (!this.mayRetry(attempt, started, delay)) throw error
      this.logger.verbose(`  retrying in ${delay}ms after ${f.code} (retry ${attempt}/${this.retry.maxRetries})`)
      await this.sleep(delay, signal)
    }
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1))
    return Math.round(this.random() * ceiling)
  }

  private mayRetry(attempt: number, started: number, delay: number): boolean {
    return attempt <= this.retry.maxRetries && this.now() - started + delay <= this.retry.maxElapsedMs
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

  /** Follows a long-running operation to a terminal state (RPC async contract). */
  private async followOperation(method: HttpMethod, url: string, initial: ArmResponse, signal?: AbortSignal): Promise<ArmResponse> {
    const asyncOp = initial.headers['azure-asyncoperation']
    const location = initial.headers.location
    const state = provisioningState(initial.body)
    const resourcePoll = (method === 'PUT' || method === 'PATCH') && state !== undefined && !TERMINAL.has(state.toLowerCase())
    if (!asyncOp && !(initial.status === 202 && location) && !resourcePoll) return initial
    const deadline = this.now() + this.lro.timeoutMs
    let interval = this.lro.initialIntervalMs
    let last = initial
    const pollUrl = asyncOp ?? (initial.status === 202 && location ? location : url)
    this.checkPollUrl(pollUrl)
    const wait = async () => {
      const hinted = retryAfterMs(last.headers, this.now())
      const delay = hinted ?? interval
      if (hinted === undefined) interval = Math.min(this.lro.maxIntervalMs, Math.round(interval * this.lro.factor))
      if (this.now() + delay > deadline) {
        throw new HcctlError(`The long-running operation did not finish within ${Math.round(this.lro.timeoutMs / 1000)} s.`, ExitCode.Unexpected, {
          code: 'OperationTimedOut',
          data: {pollUrl: redactText(pollUrl)},
          suggestions: [`It may still be running; check it with: hcctl arm get "${redactText(pollUrl)}"`],
        })
      }
      this.logger.verbose(`  operation running; polling again in ${delay}ms`)
      this.logger.progress?.(`waiting for the long-running operation on ${redactText(url.split('?')[0]!.split('/').slice(-2).join('/'))}`)
      await this.sleep(delay, signal)
    }
    const get = (target: string) => this.send('GET', this.resolveUrl(target, undefined, {defaultApiVersion: target === url}), undefined, undefined, true, signal)

    if (asyncOp) {
      // Azure-AsyncOperation: poll the operation resource until its status is terminal.
      for (;;) {
        const status = statusOf(last === initial ? undefined : last.body)
        if (status && TERMINAL.has(status.toLowerCase())) {
          if (status.toLowerCase() !== 'succeeded') throw operationFailed(status, last)
          break
        }
        await wait()
        last = await get(asyncOp)
      }
      if (method === 'PUT' || method === 'PATCH') return get(url)
      if (location) return get(location)
      return last
    }
    if (initial.status === 202 && location) {
      // Location: 202 while running, then the final answer.
      for (;;) {
        await wait()
        last = await get(location)
        if (last.status !== 202) return last
      }
    }
    // provisioningState on the resource itself.
    for (;;) {
      await wait()
      last = await get(url)
      const s = provisioningState(last.body)
      if (s === undefined || TERMINAL.has(s.toLowerCase())) {
        if (s && s.toLowerCase() !== 'succeeded') throw operationFailed(s, last)
        return last
      }
    }
  }

  private checkPollUrl(pollUrl: string): void {
    let origin: string
    try {
      origin = new URL(pollUrl).origin.toLowerCase()
    } catch {
      throw new BugError(`ARM sent an invalid polling URL ${JSON.stringify(redactText(pollUrl))}.`, {code: 'InvalidResponse'})
    }
    if (origin !== this.origin) {
      throw new BugError(`ARM asked to poll ${redactText(origin)}, which is not the ARM endpoint; not sending the token there.`, {code: 'InvalidResponse'})
    }
  }
}

function provisioningState(body: unknown): string | undefined {
  const p = (body as {properties?: {provisioningState?: unknown}} | undefined)?.properties?.provisioningState
  return typeof p === 'string' ? p : undefined
}

function statusOf(body: unknown): string | undefined {
  const s = (body as {status?: unknown} | undefined)?.status
  return typeof s === 'string' ? s : undefined
}

function operationFailed(status: string, last: ArmResponse): ArmError {
  const err = (last.body as {error?: {code?: string; message?: string}} | undefined)?.error
  const code = err?.code ?? `Operation${status}`
  return new ArmError({
    status: last.status,
    code,
    message: err?.message ?? `The long-running operation ended with status ${status}.`,
    requestId: last.requestId,
    exitCode: /conflict|limit|quota/i.test(code) ? ExitCode.Conflict : ExitCode.Unexpected,
    suggestions: ['See the message; the resource may be left half-done, so check it with `hcctl arm get` before retrying.'],
  })
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

function appendQuery(url: string, pair: string): string {
  const hash = url.indexOf('#')
  const base = hash === -1 ? url : url.slice(0, hash)
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?'
  return base + sep + pair + (hash === -1 ? '' : url.slice(hash))
}

function pathOnly(url: string): string {
  try {
    return new URL(url).pathname
  } catch {
    return url.split('?')[0]!
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/** A signal that aborts when any of the given ones does. */
function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const list = signals.filter((s): s is AbortSignal => s !== undefined)
  if (list.length <= 1) return list[0]
  return AbortSignal.any(list)
}
