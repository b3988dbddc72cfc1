import {readFile} from 'node:fs/promises'

import {BugError, UsageError} from '../errors.js'
import {apiVersionFor, providerOf} from './api-versions.js'
import type {ArmRequest, ArmResponse, HttpMethod} from './arm-types.js'

/** The one thing armCall needs from the ARM client. */
export interface ArmRequester {
  request(request: ArmRequest): Promise<ArmResponse>
}

/**
 * `hcctl arm get|put|patch|post|delete <url> [body]`: the armclient replacement. Everything
 * is checked before anything is sent: the api-version, the body (JSON from a literal, `@file`
 * or `-` for stdin) and the `-H "Name: value"` headers.
 */
export interface ArmCallOptions {
  method: HttpMethod
  url: string
  /** Literal JSON, `@path/to/file.json`, or `-` (stdin). */
  body?: string
  /** Reads stdin (for body `-`). */
  readStdin?: () => Promise<string>
  apiVersion?: string
  /** `Name: value` strings. */
  headers?: string[]
  wait?: boolean
  /** GET only: follow every nextLink and answer {value: [all items]}. */
  all?: boolean
  signal?: AbortSignal
}

export async function armCall(arm: ArmRequester, options: ArmCallOptions): Promise<ArmResponse> {
  requireApiVersion(options.url, options.apiVersion)
  const headers = parseHeaderArgs(options.headers ?? [])
  const body = options.body === undefined ? undefined : await parseBodyArg(options.body, options.readStdin)
  if (options.all) return allPages(arm, options, headers)
  return arm.request({
    method: options.method,
    path: options.url,
    apiVersion: options.apiVersion,
    body,
    headers,
    wait: options.wait,
    signal: options.signal,
  })
}

async function allPages(arm: ArmRequester, options: ArmCallOptions, headers: Record<string, string>): Promise<ArmResponse> {
  if (options.method !== 'GET') throw new UsageError('--all only applies to GET.', {code: 'UsageError'})
  const value: unknown[] = []
  const seen = new Set<string>()
  let next: string | undefined = options.url
  let first: ArmResponse | undefined
  let last: ArmResponse | undefined
  while (next) {
    last = await arm.request({method: 'GET', path: next, apiVersion: first ? undefined : options.apiVersion, headers, signal: options.signal})
    first ??= last
    const page = last.body as {value?: unknown; nextLink?: unknown} | undefined
    if (!page || typeof page !== 'object' || !Array.isArray(page.value)) {
      throw new UsageError('--all needs a list answer ({"value": [...], "nextLink": ...}); this URL answered something else.', {code: 'NotAList'})
    }
    value.push(...page.value)
    const link = typeof page.nextLink === 'string' && page.nextLink !== '' ? page.nextLink : undefined
    if (link && seen.has(link)) throw new BugError('The service returned the same nextLink twice; stopping.', {code: 'PagingLoop'})
    if (link) seen.add(link)
    next = link
  }
  return {status: last!.status, headers: last!.headers, requestId: last!.requestId, body: {value}}
}

/** The URL must carry `api-version` unless --api-version is given (armclient's rule, stated). */
export function requireApiVersion(url: string, apiVersion: string | undefined): void {
  if (apiVersion) return
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''
  if (new URLSearchParams(query).has('api-version')) return
  const path = url.split('?')[0]!
  const known = apiVersionFor(path)
  const provider = providerOf(path)
  throw new UsageError('The URL has no api-version.', {
    code: 'MissingApiVersion',
    suggestions: [
      known
        ? `Add ?api-version=${known} to the URL (the version hcctl uses for ${provider}), or pass --api-version ${known}.`
        : 'Add ?api-version=YYYY-MM-DD to the URL, or pass --api-version.',
    ],
  })
}

/** `Name: value` → {name: value}; a malformed one is a usage error. */
export function parseHeaderArgs(list: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of list) {
    const colon = item.indexOf(':')
    const name = colon === -1 ? '' : item.slice(0, colon).trim()
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new UsageError(`Invalid header ${JSON.stringify(item.replace(/:.*/, ': …'))}: expected "Name: value".`, {
        code: 'InvalidHeader',
        suggestions: ['Example: -H "If-Match: *"'],
      })
    }
    const value = item.slice(colon + 1).trim()
    if (/[\r\n]/.test(value)) throw new UsageError(`Invalid header ${name}: the value contains a line break.`, {code: 'InvalidHeader'})
    out[name] = value
  }
  return out
}

/** The body argument: `@file`, `-` (stdin) or literal JSON; parsed here so nothing broken is sent. */
export async function parseBodyArg(arg: string, readStdin?: () => Promise<string>): Promise<unknown> {
  let text: string
  let source: string
  if (arg === '-') {
    if (!readStdin) throw new UsageError('Reading the body from stdin is not possible here.', {code: 'InvalidBody'})
    text = await readStdin()
    source = 'The body from stdin'
  } else if (arg.startsWith('@')) {
    const file = arg.slice(1)
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      throw new UsageError(`Cannot read the body file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, {
        code: 'InvalidBody',
        suggestions: ['Pass @path/to/body.json, - for stdin, or the JSON itself.'],
      })
    }
    source = `The body file ${file}`
  } else {
    text = arg
    source = 'The body'
  }
  return parseJson(text.replace(/^\uFEFF/, ''), source)
}

/** JSON.parse with the position as line and column in the error (exit 2). */
export function parseJson(text: string, source: string): unknown {
  if (text.trim() === '') throw new UsageError(`${source} is empty.`, {code: 'InvalidBody', suggestions: ['Give a JSON document, e.g. {"location": "westeurope"}.']})
  try {
    return JSON.parse(text)
  } catch (error) {
    const message = (error as Error).message
    const m = /position (\d+)/.exec(message)
    const pos = m ? Number(m[1]) : text.length
    const before = text.slice(0, pos)
    const line = before.split('\n').length
    const column = pos - before.lastIndexOf('\n')
    const where = m || /end of (JSON )?input/i.test(message) ? ` at line ${line}, column ${column} (position ${pos})` : ''
    throw new UsageError(`${source} is not valid JSON${where}: ${firstLine(message)}.`, {
      code: 'InvalidBody',
      data: {line, column, position: pos},
      suggestions: source === 'The body' ? ['To send a file, prefix its path with @ (e.g. @body.json); use - to read stdin.'] : ['Fix the JSON and run the command again; nothing was sent.'],
    })
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/\.$/, '')
}
