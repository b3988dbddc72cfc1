/**
 * The ARM client's contract. The implementation (arm-client.ts) adds auth, api-versions,
 * retries, long-running operations, paging and error normalisation; use-cases in lib/hybrid
 * depend only on this interface so they can be tested with a fake.
 */
export type HttpMethod = 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE' | 'HEAD'

export interface ArmRequest {
  method: HttpMethod
  /** `/subscriptions/...` relative to the cloud's ARM endpoint, or an absolute URL on it. */
  path: string
  /** Overrides the api-version from the provider table (and any in the path). */
  apiVersion?: string
  /** JSON body (already parsed). */
  body?: unknown
  headers?: Record<string, string>
  /** POST actions that are safe to retry (listKeys, ...). GET/PUT/PATCH/DELETE always are. */
  idempotent?: boolean
  /** Follow a long-running operation to its end (Azure-AsyncOperation / Location / provisioningState). */
  wait?: boolean
  signal?: AbortSignal
}

export interface ArmResponse<T = unknown> {
  status: number
  headers: Record<string, string>
  body: T
  requestId?: string
}

export interface ArmClient {
  readonly subscriptionId: string
  /** Sends one request (with retries); throws ArmError for any status >= 400. */
  request<T = unknown>(request: ArmRequest): Promise<ArmResponse<T>>
  /** GET returning the body; `undefined` on 404 when `allowNotFound` is set. */
  get<T = unknown>(path: string, options?: {apiVersion?: string; allowNotFound?: boolean; signal?: AbortSignal}): Promise<T | undefined>
  /** GET a collection and follow every nextLink; returns all items of `value`. */
  list<T = unknown>(path: string, options?: {apiVersion?: string; signal?: AbortSignal}): Promise<T[]>
}
