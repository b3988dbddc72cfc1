import type {IncomingMessage} from 'node:http'

import type {RelayRuntime} from '../contracts.js'
import type {Principal, StateStore} from '../state.js'

/** What every ARM handler can reach. */
export interface ArmEnv {
  state: StateStore
  /** e.g. https://127.0.0.1:PORT */
  armUrl: () => string
  relaySuffix: string
  appServiceSuffix: string
  runtime: RelayRuntime
  /** Items per page of every pageable list. */
  pageSize: () => number
  /** GETs a fresh namespace or plan answers before its provisioningState turns Succeeded. */
  lroPolls: number
  /** Retry-After on 202 answers (omitted when undefined). */
  retryAfterSeconds?: number
  /** Namespace deletes being "polled" (operationresults), by lower-cased namespace id. */
  pendingDeletes: Map<string, {polls: number; body: unknown}>
  /** The app sandbox's Kudu command API. */
  runCommand: (target: SandboxTarget, command: string) => Promise<{Output: string; Error: string; ExitCode: number}>
}

export interface SandboxTarget {
  subscriptionId: string
  resourceGroup: string
  site: string
  slot?: string
}

export interface ArmCtx {
  env: ArmEnv
  req: IncomingMessage
  method: string
  url: URL
  params: Record<string, string>
  apiVersion: string
  body: unknown
  principal: Principal
}

export interface ArmResult {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export type Handler = (ctx: ArmCtx) => ArmResult | Promise<ArmResult>

/** True for api-versions from 2021-11-01 on (Relay adds systemData). */
export function atLeast(version: string, min: string): boolean {
  return version.slice(0, 10) >= min
}

/** The own key of `target` equal to `name` without regard to case (the exact spelling wins). */
function keyOf(target: object, name: string): string | undefined {
  if (Object.hasOwn(target, name)) return name
  const lower = name.toLowerCase()
  return Object.keys(target).find((k) => k.toLowerCase() === lower)
}

const caseInsensitive: ProxyHandler<Record<string, unknown>> = {
  get(target, name) {
    if (typeof name !== 'string') return Reflect.get(target, name)
    const key = keyOf(target, name)
    return key === undefined ? undefined : target[key]
  },
  has(target, name) {
    return typeof name === 'string' ? keyOf(target, name) !== undefined : Reflect.has(target, name)
  },
}

/**
 * A JSON object body or {} (arrays, strings and null are rejected by the caller when it matters),
 * read without regard to the case of property names: Azure's resource providers take
 * `hostName` for `hostname` and `Location` for `location` (the App Service docs' own armclient
 * example sends `hostName`), so every handler reads bodies through here, and nested objects
 * read through obj() again. Answers are built from the emulator's records, so they always
 * carry Azure's spelling. Iterating (tags) sees the names as sent.
 */
export function obj(value: unknown): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {}
  return new Proxy(value as Record<string, unknown>, caseInsensitive)
}

/** A query parameter by name without regard to case (`api-version`, `API-Version`, `$skiptoken`). */
export function queryParam(url: URL, name: string): string | null {
  const lower = name.toLowerCase()
  for (const [k, v] of url.searchParams) if (k.toLowerCase() === lower) return v
  return null
}

export function tagsOf(value: unknown): Record<string, string> | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = String(v)
  return out
}

/** One page of a pageable list, with an absolute nextLink carrying $skipToken. */
export function paged<T>(ctx: ArmCtx, items: T[], options: {nullNextLink?: boolean} = {}): ArmResult {
  const size = Math.max(1, ctx.env.pageSize())
  const skipRaw = queryParam(ctx.url, '$skipToken')
  const skip = skipRaw && /^\d+$/.test(skipRaw) ? Number(skipRaw) : 0
  const value = items.slice(skip, skip + size)
  const body: Record<string, unknown> = {value}
  if (skip + size < items.length) {
    const params = new URLSearchParams([...ctx.url.searchParams].filter(([k]) => k.toLowerCase() !== '$skiptoken'))
    const query = params.toString()
    body.nextLink = `${ctx.env.armUrl()}${ctx.url.pathname}?${query ? `${query}&` : ''}$skipToken=${skip + size}`
  } else if (options.nullNextLink) {
    body.nextLink = null
  }
  return {status: 200, body}
}

export function systemData(createdAt: string, updatedAt: string, by: string): Record<string, string> {
  return {
    createdBy: by,
    createdByType: 'Application',
    createdAt,
    lastModifiedBy: by,
    lastModifiedByType: 'Application',
    lastModifiedAt: updatedAt,
  }
}
