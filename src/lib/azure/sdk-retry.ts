import {type RetryContext, isIdempotent, isRetryable, waitBeforeRetry} from './arm-retry.js'

/** The parts of @azure/core-rest-pipeline's request, response and policy this uses (structural, no import). */
interface SdkRequest {
  method: string
  url: string
  /** AbortSignalLike in the SDK's types; hcctl passes a real AbortSignal. */
  abortSignal?: {readonly aborted: boolean}
}
interface SdkResponse {
  status: number
  headers: {toJSON(options?: {preserveCase?: boolean}): Record<string, string>}
}
export interface SdkPolicy<Req extends SdkRequest = SdkRequest, Res extends SdkResponse = SdkResponse> {
  name: string
  sendRequest(request: Req, next: (request: Req) => Promise<Res>): Promise<Res>
}

/** The name of the Azure SDK's own retry policy, which this one replaces. */
export const SDK_DEFAULT_RETRY_POLICY = 'defaultRetryPolicy'

/**
 * The ARM retry policy (arm-retry.ts) as an Azure SDK pipeline policy, so the Relay SDK's
 * calls obey the same documented bound, budget, Retry-After handling and stderr notices as our
 * own client, instead of the SDK's defaults (3 retries, no budget, silent waits, every 5xx
 * retried whatever the method). Answers it gives up on are returned (the SDK turns them into
 * its RestError); network failures it gives up on are rethrown.
 */
export function armRetryPolicy<Req extends SdkRequest, Res extends SdkResponse>(context: RetryContext): SdkPolicy<Req, Res> {
  return {
    name: 'hcctlArmRetry',
    async sendRequest(request, next) {
      const started = context.now()
      const method = request.method.toUpperCase()
      let path: string
      try {
        path = new URL(request.url).pathname
      } catch {
        path = request.url
      }
      const signal = request.abortSignal as AbortSignal | undefined
      const idempotent = isIdempotent({method: method as never, path})
      let throttled = 0
      for (let attempt = 1; ; attempt++) {
        let response: Res
        try {
          response = await next(request)
        } catch (error) {
          if (request.abortSignal?.aborted) throw error
          const e = error as {code?: string; cause?: {code?: string}}
          const code = e.cause?.code ?? e.code ?? 'network error'
          const tls = /CERT|SSL|TLS|UNABLE_TO_VERIFY|SELF_SIGNED/i.test(code)
          if (!isRetryable(undefined, idempotent, tls)) throw error
          if (await waitBeforeRetry(context, {attempt, throttled, started, method, url: request.url, cause: code}, signal)) throw error
          continue
        }
        if (response.status < 400 || !isRetryable(response.status, idempotent)) return response
        if (response.status === 429) throttled++
        const stop = await waitBeforeRetry(context, {attempt, throttled, started, method, url: request.url, status: response.status, headers: response.headers.toJSON()}, signal)
        if (stop) {
          if (stop.reason === 'budget' && stop.retryAfter) context.logger.warn(stop.message)
          return response
        }
      }
    },
  }
}
