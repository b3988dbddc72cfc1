import {type ExitCode, HcctlError, exitCodeForStatus} from '../errors.js'
import {redactText} from '../output/redact.js'

export interface ArmErrorDetail {
  code?: string
  message?: string
  target?: string
}

export interface ArmErrorInit {
  status: number
  code: string
  message: string
  requestId?: string
  /** x-ms-correlation-request-id, when it differs from the request id. */
  correlationId?: string
  target?: string
  details?: ArmErrorDetail[]
  method?: string
  url?: string
  suggestions?: string[]
  exitCode?: ExitCode
}

/**
 * One typed error for every failed ARM answer, whichever shape the body had: ARM's
 * `{"error":{"code","message","target","details"}}`, App Service's flat PascalCase
 * `{"Code","Message","Target","Details"}`, the flat `{code,message}` of old Relay specs, or
 * something that is not JSON at all. The exit code follows the status (404 → 4,
 * 401/403 → 5, 409/412/limits → 6, 400 → 2, else 1). Messages are redacted.
 */
export class ArmError extends HcctlError {
  override name = 'ArmError'
  readonly status: number
  readonly requestId?: string
  readonly target?: string
  readonly details: ArmErrorDetail[]
  readonly method?: string
  readonly url?: string
  /** The answer's headers (lower-case names), when it came from an HTTP answer. */
  headers?: Record<string, string>

  constructor(init: ArmErrorInit) {
    const exitCode = init.exitCode ?? exitCodeForStatus(init.status, init.code)
    const suggestions = [...(init.suggestions ?? suggestionsFor(init.status, init.code))]
    const note = requestIdNote(init.requestId, init.correlationId)
    if (note && !suggestions.some((s) => init.requestId && s.includes(init.requestId))) suggestions.push(note)
    super(redactText(init.message), exitCode, {
      code: init.code,
      suggestions,
      data: {
        status: init.status,
        ...(init.requestId ? {requestId: init.requestId} : {}),
        ...(init.correlationId && init.correlationId !== init.requestId ? {correlationId: init.correlationId} : {}),
        ...(init.target ? {target: init.target} : {}),
        ...(init.details && init.details.length > 0 ? {details: init.details} : {}),
      },
    })
    this.status = init.status
    this.requestId = init.requestId
    this.target = init.target
    this.details = init.details ?? []
    this.method = init.method
    this.url = init.url ? redactText(init.url) : undefined
  }

  /** Builds the error from an HTTP answer (any body). */
  static fromResponse(response: {status: number; headers?: Record<string, string>; body: unknown; method?: string; url?: string}): ArmError {
    const parsed = parseErrorBody(response.body)
    const headers = response.headers ?? {}
    const requestId = headers['x-ms-request-id'] ?? headers['x-ms-correlation-request-id'] ?? headers['x-ms-client-request-id']
    const correlationId = headers['x-ms-correlation-request-id']
    const code = parsed.code ?? defaultCode(response.status)
    const where = response.method && response.url ? ` (${response.method} ${pathOf(response.url)})` : ''
    const message = parsed.message ?? (parsed.raw ? `HTTP ${response.status}${where}: ${truncate(parsed.raw)}` : `HTTP ${response.status}${where}`)
    const error = new ArmError({
      status: response.status,
      code,
      message,
      requestId,
      ...(correlationId && correlationId !== requestId ? {correlationId} : {}),
      target: parsed.target,
      details: parsed.details,
      method: response.method,
      url: response.url,
    })
    error.headers = headers
    return error
  }
}

export function isArmError(error: unknown): error is ArmError {
  return error instanceof ArmError || (typeof error === 'object' && error !== null && (error as ArmError).name === 'ArmError' && typeof (error as ArmError).status === 'number')
}

interface ParsedError {
  code?: string
  message?: string
  target?: string
  details?: ArmErrorDetail[]
  /** The body as text when it carried no recognisable error. */
  raw?: string
}

/** Reads an error body of any of the known shapes (string or already-parsed JSON). */
export function parseErrorBody(body: unknown): ParsedError {
  let value: unknown = body
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const text = body.toString().replace(/^\uFEFF/, '').trim()
    if (text === '') return {}
    try {
      value = JSON.parse(text)
    } catch {
      return {raw: text}
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return value === undefined || value === null ? {} : {raw: JSON.stringify(value)}
  }
  const obj = value as Record<string, unknown>
  // ARM / OData: {"error": {...}} (also "Error" in some RPs)
  const inner = obj.error ?? obj.Error
  if (inner && typeof inner === 'object' && !Array.isArray(inner)) return fromObject(inner as Record<string, unknown>)
  if (typeof inner === 'string') return {message: inner, code: str(obj, 'code')}
  // App Service flat PascalCase {"Code","Message",...} or flat {code,message}
  const flat = fromObject(obj)
  if (flat.code || flat.message) return flat
  return {raw: JSON.stringify(obj)}
}

function fromObject(o: Record<string, unknown>): ParsedError {
  const out: ParsedError = {}
  const code = str(o, 'code')
  const message = str(o, 'message')
  const target = str(o, 'target')
  if (code) out.code = code
  if (message) out.message = message
  if (target) out.target = target
  const details = o.details ?? o.Details
  if (Array.isArray(details)) {
    const list: ArmErrorDetail[] = []
    for (const d of details) {
      if (!d || typeof d !== 'object') continue
      const rec = d as Record<string, unknown>
      // App Service nests {"ErrorEntity": {...}} among its details.
      const entity = (rec.ErrorEntity ?? rec.errorEntity) as Record<string, unknown> | undefined
      const source = entity && typeof entity === 'object' ? entity : rec
      const item: ArmErrorDetail = {}
      const c = str(source, 'code')
      const m = str(source, 'message')
      const t = str(source, 'target')
      if (c) item.code = c
      if (m) item.message = m
      if (t) item.target = t
      if (item.code || item.message) list.push(item)
    }
    if (list.length > 0) out.details = list
  }
  // App Service sometimes has only details: take the first message/code.
  if (!out.message && out.details?.some((d) => d.message)) out.message = out.details.find((d) => d.message)!.message
  if (!out.code && out.details?.some((d) => d.code)) out.code = out.details.find((d) => d.code)!.code
  return out
}

/** A string property, whichever case it is written in (code / Code). */
function str(o: Record<string, unknown>, key: string): string | undefined {
  const upper = key[0]!.toUpperCase() + key.slice(1)
  const v = o[key] ?? o[upper]
  return typeof v === 'string' && v !== '' ? v : undefined
}

function defaultCode(status: number): string {
  const names: Record<number, string> = {
    400: 'BadRequest',
    401: 'AuthenticationFailed',
    403: 'AuthorizationFailed',
    404: 'NotFound',
    409: 'Conflict',
    412: 'PreconditionFailed',
    429: 'TooManyRequests',
    500: 'InternalServerError',
    502: 'BadGateway',
    503: 'ServiceUnavailable',
    504: 'GatewayTimeout',
  }
  return names[status] ?? `Http${status}`
}

function suggestionsFor(status: number, code: string): string[] {
  if (status === 401) return ['Sign in again (`az login`), or check the token passed with --access-token / HCCTL_ACCESS_TOKEN (it may have expired).']
  if (status === 403) return ['The signed-in principal lacks a permission for this call; ask for a role on the scope (e.g. Contributor), then retry.']
  if (status === 404) return ['Check the subscription, resource group and resource names (run with --verbose to see the URL).']
  if (status === 429) return ['ARM throttled the calls; wait a little and retry.']
  if (status === 409 || status === 412 || /limit|quota/i.test(code)) return ['Another operation or an existing resource is in the way, or a limit is reached; see the message.']
  if (status >= 500) return ['The service failed; retry later.']
  return []
}

/**
 * The line that names the request id of a failed call (people need it for support; ARM's
 * x-ms-request-id, and the x-ms-correlation-request-id when it differs).
 */
export function requestIdNote(requestId: string | undefined, correlationId?: string): string | undefined {
  if (!requestId) return undefined
  const correlation = correlationId && correlationId !== requestId ? `, correlation id ${correlationId}` : ''
  return `Request id ${requestId}${correlation}: quote it when you contact support.`
}

function pathOf(url: string): string {
  try {
    const u = new URL(url)
    return redactText(u.pathname)
  } catch {
    return redactText(url)
  }
}

function truncate(text: string, max = 300): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine
}
