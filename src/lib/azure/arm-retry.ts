import type {ArmRequest} from './arm-types.js'

/**
 * The retry policy of the ARM client: which requests may be repeated, which answers are worth
 * another try, and how long to wait (Retry-After when the service says, else capped
 * exponential backoff with full jitter).
 */
export interface RetryOptions {
  /** Retries after the first attempt (so attempts = maxRetries + 1). */
  maxRetries: number
  /** First backoff ceiling; doubles each retry (full jitter: a random delay in [0, ceiling]). */
  baseDelayMs: number
  maxDelayMs: number
  /** No retry starts once this much time has passed since the first attempt. */
  maxElapsedMs: number
}

export const DEFAULT_RETRY: RetryOptions = {maxRetries: 4, baseDelayMs: 800, maxDelayMs: 30_000, maxElapsedMs: 120_000}

export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

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

/** The backoff before retry number `attempt` (1-based): a random delay up to a doubling, capped ceiling. */
export function backoffMs(retry: RetryOptions, attempt: number, random: () => number): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(random() * ceiling)
}

/** Whether another attempt may start after `attempt` attempts, waiting `delay` ms, `elapsed` ms after the first. */
export function mayRetry(retry: RetryOptions, attempt: number, elapsed: number, delay: number): boolean {
  return attempt <= retry.maxRetries && elapsed + delay <= retry.maxElapsedMs
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
