import type {Logger} from '../output/logger.js'
import {redactText} from '../output/redact.js'
import type {ArmRequest} from './arm-types.js'

/**
 * The retry policy of every ARM call (our client and the Relay SDK's pipeline alike): which
 * requests may be repeated, which answers are worth another try, and how long to wait
 * (Retry-After when the service says, else capped exponential backoff with full jitter).
 *
 * The bound, documented: per request, at most `maxRetries` retries after failures (5xx, 408,
 * network; default 4, HCCTL_MAX_RETRIES) and at most `maxThrottledRetries` after 429s (default
 * 10: a 429 is the service pacing us, saying when to come back, not a failure), and no wait
 * that would end more than `maxElapsedMs` (default 120 s, HCCTL_RETRY_BUDGET) after the first
 * attempt. A Retry-After beyond what is left of that
 * budget fails at once (saying so) rather than sleeping into certain failure. A wait of
 * ANNOUNCE_WAIT_MS or more is said on stderr (what is awaited, how long, which retry).
 * 429 is retried for every method (ARM refuses a throttled request before carrying it out);
 * 408 and 5xx and network errors only for idempotent requests; 409/412 never.
 */
export interface RetryOptions {
  /** Retries after failed attempts (5xx, 408, network errors). */
  maxRetries: number
  /** Retries after 429s (on top of maxRetries; the time budget bounds them too). */
  maxThrottledRetries: number
  /** First backoff ceiling; doubles each retry (full jitter: a random delay in [0, ceiling]). */
  baseDelayMs: number
  maxDelayMs: number
  /** No retry starts once this much time has passed since the first attempt. */
  maxElapsedMs: number
}

export const DEFAULT_RETRY: RetryOptions = {maxRetries: 4, maxThrottledRetries: 10, baseDelayMs: 800, maxDelayMs: 30_000, maxElapsedMs: 120_000}

export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

/** Waits this long or longer are said on stderr, not only with --verbose. */
export const ANNOUNCE_WAIT_MS = 3000

/**
 * POST actions safe to repeat: the ones that only read (listKeys, listConnectionStrings,
 * checkNameAvailability, ...) and regenerateKeys, whose repeat gives the same key slot another
 * fresh key, which is what was asked (the caller uses the key in the answer).
 */
const SAFE_POST = /\/(list[a-z]*|checknameavailability|regeneratekeys)$/i

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

/** The backoff before retry number `attempt` (1-based): a random delay up to a doubling, capped ceiling. */
export function backoffMs(retry: RetryOptions, attempt: number, random: () => number): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(random() * ceiling)
}

/** Whether another attempt may start after `attempt` attempts, waiting `delay` ms, `elapsed` ms after the first. */
export function mayRetry(retry: RetryOptions, attempt: number, elapsed: number, delay: number): boolean {
  return attempt <= retry.maxRetries && elapsed + delay <= retry.maxElapsedMs
}

/** Whether this answer (status) or failure (status undefined) is worth another attempt at all. */
export function isRetryable(status: number | undefined, idempotent: boolean, tls = false): boolean {
  if (status === undefined) return idempotent && !tls
  if (status === 429) return true
  return idempotent && RETRYABLE_STATUS.has(status)
}

export interface RetryContext {
  retry: RetryOptions
  logger: Logger
  now: () => number
  random: () => number
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
}

/** What happened to an attempt that failed in a retryable way. */
export interface FailedAttempt {
  /** 1-based number of the attempt that just failed. */
  attempt: number
  /** How many of the attempts so far (this one included) were answered 429. */
  throttled: number
  /** When the first attempt started. */
  started: number
  method: string
  url: string
  /** The answer's status, or undefined for a network failure (then `cause`, e.g. ECONNRESET). */
  status?: number
  cause?: string
  headers?: Record<string, string>
}

/** Why no retry follows: the count is used up, or the wait would overrun the time budget. */
export interface NoRetry {
  reason: 'count' | 'budget'
  /** The wait that was due (ms) and whether the service asked for it (Retry-After). */
  waitMs: number
  retryAfter: boolean
  /** What was left of the budget (ms) when the wait was refused. */
  leftMs: number
  /** One sentence for the error: why the command stopped retrying. */
  message: string
}

/**
 * Decides and, if it retries, waits (announcing a long wait). Resolves undefined when the
 * caller should try again, or the reason it should not (the caller then throws its last error).
 */
export async function waitBeforeRetry(c: RetryContext, f: FailedAttempt, signal?: AbortSignal): Promise<NoRetry | undefined> {
  const asked = f.headers ? retryAfterMs(f.headers, c.now()) : undefined
  const failures = f.attempt - f.throttled
  const isThrottle = f.status === 429
  const delay = asked ?? backoffMs(c.retry, isThrottle ? f.throttled : Math.max(1, failures), c.random)
  const elapsed = c.now() - f.started
  const leftMs = Math.max(0, c.retry.maxElapsedMs - elapsed)
  const what = f.status === undefined ? (f.cause ?? 'a network error') : f.status === 429 ? 'ARM throttled the request (429)' : `ARM answered ${f.status}`
  const [nth, bound] = isThrottle ? [f.throttled, c.retry.maxThrottledRetries] : [failures, c.retry.maxRetries]
  if (nth > bound) {
    const message = isThrottle
      ? `Gave up after ${f.attempt} attempts: throttled ${f.throttled} times (at most ${bound} retries after 429s).`
      : `Gave up after ${f.attempt} attempts (at most ${bound} retries after failures, HCCTL_MAX_RETRIES).`
    return {reason: 'count', waitMs: delay, retryAfter: asked !== undefined, leftMs, message}
  }
  if (elapsed + delay > c.retry.maxElapsedMs) {
    const message =
      asked === undefined
        ? `Gave up after ${f.attempt} attempt${f.attempt === 1 ? '' : 's'}: the next one would start after the ${seconds(c.retry.maxElapsedMs)} retry budget (HCCTL_RETRY_BUDGET).`
        : `${what} and asks to wait ${seconds(asked)} (Retry-After), more than the ${seconds(leftMs)} left of the ${seconds(c.retry.maxElapsedMs)} retry budget (HCCTL_RETRY_BUDGET); not waiting.`
    c.logger.verbose(`  not retrying: ${message}`)
    return {reason: 'budget', waitMs: delay, retryAfter: asked !== undefined, leftMs, message}
  }
  const which = `${isThrottle ? 'throttled retry' : 'retry'} ${nth} of ${bound}`
  const line = `${what} on ${f.method} ${redactText(pathOf(f.url))}; waiting ${seconds(delay)}${asked === undefined ? '' : ' as its Retry-After asks'} (${which})`
  if (delay >= ANNOUNCE_WAIT_MS) c.logger.warn(`${line}…`)
  else c.logger.verbose(`  retrying in ${delay}ms after ${f.status ?? f.cause}${asked === undefined ? '' : ' (Retry-After)'} (${which})`)
  await c.sleep(delay, signal)
  return undefined
}

/** 100 s, 2.5 s, 0.8 s: seconds for people. */
function seconds(ms: number): string {
  const s = ms / 1000
  return `${s >= 10 || Number.isInteger(s) ? Math.round(s) : s.toFixed(1)} s`
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname
  } catch {
    return url.split('?')[0]!
  }
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
