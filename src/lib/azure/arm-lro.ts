import {BugError, ExitCode, HcctlError} from '../errors.js'
import {type Logger} from '../output/logger.js'
import {redactText} from '../output/redact.js'
import {ArmError} from './arm-error.js'
import {retryAfterMs} from './arm-retry.js'
import type {ArmResponse, HttpMethod} from './arm-types.js'

/**
 * Long-running operations (the ARM RPC async contract): follow Azure-AsyncOperation, a 202
 * with Location, or the resource's own provisioningState to a terminal state.
 */
export interface LroOptions {
  /** Give up polling after this long. */
  timeoutMs: number
  /** Poll interval when the service sends no Retry-After; grows by `factor` up to `maxIntervalMs`. */
  initialIntervalMs: number
  maxIntervalMs: number
  factor: number
}

export const DEFAULT_LRO: LroOptions = {timeoutMs: 15 * 60_000, initialIntervalMs: 1000, maxIntervalMs: 10_000, factor: 1.5}

const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'cancelled'])

export interface LroContext {
  lro: LroOptions
  logger: Logger
  now: () => number
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  /** A GET of `target` (the original URL keeps its api-version; polling URLs are sent as given). */
  get: (target: string, isOriginal: boolean) => Promise<ArmResponse>
  /** Throws unless `pollUrl` is on the ARM endpoint (the token goes nowhere else). */
  checkPollUrl: (pollUrl: string) => void
  signal?: AbortSignal
}

/** Follows a long-running operation to a terminal state; returns the final answer (or `initial` when there is nothing to follow). */
export async function followOperation(context: LroContext, method: HttpMethod, url: string, initial: ArmResponse): Promise<ArmResponse> {
  const asyncOp = initial.headers['azure-asyncoperation']
  const location = initial.headers.location
  const state = provisioningState(initial.body)
  const resourcePoll = (method === 'PUT' || method === 'PATCH') && state !== undefined && !TERMINAL.has(state.toLowerCase())
  if (!asyncOp && !(initial.status === 202 && location) && !resourcePoll) return initial
  const {lro, logger, now} = context
  const deadline = now() + lro.timeoutMs
  let interval = lro.initialIntervalMs
  let last = initial
  const pollUrl = asyncOp ?? (initial.status === 202 && location ? location : url)
  context.checkPollUrl(pollUrl)
  const wait = async () => {
    const hinted = retryAfterMs(last.headers, now())
    const delay = hinted ?? interval
    if (hinted === undefined) interval = Math.min(lro.maxIntervalMs, Math.round(interval * lro.factor))
    if (now() + delay > deadline) {
      throw new HcctlError(`The long-running operation did not finish within ${Math.round(lro.timeoutMs / 1000)} s.`, ExitCode.Unexpected, {
        code: 'OperationTimedOut',
        data: {pollUrl: redactText(pollUrl)},
        suggestions: [`It may still be running; check it with: hcctl arm get "${redactText(pollUrl)}"`],
      })
    }
    logger.verbose(`  operation running; polling again in ${delay}ms`)
    logger.progress?.(`waiting for the long-running operation on ${redactText(url.split('?')[0]!.split('/').slice(-2).join('/'))}`)
    await context.sleep(delay, context.signal)
  }
  const get = (target: string) => context.get(target, target === url)

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

/** Throws unless `pollUrl` parses and is on `origin` (lower-case). */
export function checkPollUrl(pollUrl: string, origin: string): void {
  let pollOrigin: string
  try {
    pollOrigin = new URL(pollUrl).origin.toLowerCase()
  } catch {
    throw new BugError(`ARM sent an invalid polling URL ${JSON.stringify(redactText(pollUrl))}.`, {code: 'InvalidResponse'})
  }
  if (pollOrigin !== origin) {
    throw new BugError(`ARM asked to poll ${redactText(pollOrigin)}, which is not the ARM endpoint; not sending the token there.`, {code: 'InvalidResponse'})
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
