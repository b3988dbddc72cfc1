import {readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import {fileURLToPath} from 'node:url'

import {parse} from 'yaml'

import {createCertificateAuthority, createServerCertificate} from '../../src/emulator/certs.js'

/**
 * Real Azure traffic: the Azure CLI team's cassette of `az webapp hybrid-connection` against
 * real Azure (March 2022), a verbatim copy in fixtures/ (`fixtures/SOURCES.md` says where it comes from).
 * These helpers read it and serve it back, so hcctl can be run against what Azure really said.
 */

export const CASSETTE = fileURLToPath(new URL('./fixtures/test_webapp_hybridconnectionE2E.yaml', import.meta.url))

/** The recorded subscription (the recorder replaced the real one) and names. */
export const REC = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'clitest.rg000001',
  plan: 'hcplan000003',
  app: 'hcwebapp000002',
  slot: 'hcwebapp000002-stage',
  namespace: 'hcnamespace000004',
  hybridConnection: 'hcname000005',
  endpoint: {host: 'vmsq1', port: 80},
  sendKeyName: 'defaultSender',
} as const

export interface Interaction {
  index: number
  method: string
  /** Path as recorded (case as sent), without the query. */
  path: string
  query: URLSearchParams
  apiVersion: string
  requestBody?: unknown
  status: number
  /** The answer's JSON (text when it is not JSON), or undefined for an empty body. */
  body?: unknown
}

interface RawCassette {
  interactions: Array<{
    request: {method: string; uri: string; body?: string | null}
    response: {status: {code: number}; body: {string: string}}
  }>
}

let cached: Interaction[] | undefined

/** JSON bodies parsed; the few others (publishxml answers XML) kept as text. */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** Every recorded call, in order. */
export function interactions(): Interaction[] {
  if (cached) return cached
  const raw = parse(readFileSync(CASSETTE, 'utf8')) as RawCassette
  cached = raw.interactions.map((it, index) => {
    const url = new URL(it.request.uri)
    const text = it.response.body.string
    return {
      index,
      method: it.request.method.toUpperCase(),
      path: url.pathname,
      query: url.searchParams,
      apiVersion: url.searchParams.get('api-version') ?? '',
      requestBody: it.request.body ? jsonOrText(it.request.body) : undefined,
      status: it.response.status.code,
      body: text ? jsonOrText(text) : undefined,
    }
  })
  return cached
}

/** The one recorded call matching method and a path pattern (case-insensitive); throws when there is not exactly one. */
export function recorded(method: string, pathPattern: RegExp, occurrence = 0): Interaction {
  const found = interactions().filter((i) => i.method === method && pathPattern.test(i.path))
  const hit = found[occurrence]
  if (!hit) throw new Error(`the recording has no ${method} matching ${pathPattern} (occurrence ${occurrence})`)
  return hit
}

export interface ReceivedRequest {
  method: string
  path: string
  query: URLSearchParams
  body?: unknown
}

export interface ReplayServer {
  url: string
  ca: string
  received: ReceivedRequest[]
  stop(): Promise<void>
}

/**
 * Azure as recorded, on loopback HTTPS: each request is answered with the last recorded answer
 * to the same method and path (compared without regard to case, api-version ignored) among the
 * calls before `until` (by default: the state after both attaches, before the removes); a GET
 * never recorded gets what the PUT of that path answered (the resource), and a list never
 * recorded is built from the recorded resources under it (see collection(); `derive: false`
 * turns that off, to see what hcctl does with Azure's answers alone). What
 * was never recorded is answered 404, as a real ARM would answer a path it does not know, and
 * that is what hcctl must cope with. Requests are kept (with their bodies) for assertions.
 */
export async function startReplayServer(options: {until?: number; derive?: boolean} = {}): Promise<ReplayServer> {
  const until = options.until ?? interactions().findIndex((i) => i.method === 'DELETE')
  const answers = new Map<string, Interaction>()
  for (const i of interactions().slice(0, until)) {
    if (i.status >= 300) continue
    answers.set(`${i.method} ${i.path.toLowerCase()}`, i)
    // A PUT answers with the resource: a GET that was never recorded reads what the PUT returned.
    if (i.method === 'PUT' && !answers.has(`GET ${i.path.toLowerCase()}`)) answers.set(`GET ${i.path.toLowerCase()}`, i)
  }
  const ca = await createCertificateAuthority()
  const cert = await createServerCertificate(ca, {dnsNames: ['localhost'], ipAddresses: ['127.0.0.1']})
  const received: ReceivedRequest[] = []
  const server: Server = createServer({cert: cert.cert, key: cert.key}, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1')
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown
      try {
        body = text ? JSON.parse(text) : undefined
      } catch {
        body = text
      }
      const method = (req.method ?? 'GET').toUpperCase()
      received.push({method, path: url.pathname, query: url.searchParams, body})
      const hit = answers.get(`${method} ${url.pathname.toLowerCase()}`) ?? (method === 'GET' && options.derive !== false ? collection(answers, url.pathname) : undefined)
      if (!hit) {
        const payload = JSON.stringify({error: {code: 'NotFound', message: `Not in the recording: ${method} ${url.pathname}.`}})
        res.writeHead(404, {'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload)})
        res.end(payload)
        return
      }
      const payload = hit.body === undefined ? '' : typeof hit.body === 'string' ? hit.body : JSON.stringify(hit.body)
      res.writeHead(hit.status, {...(payload ? {'content-type': 'application/json; charset=utf-8'} : {}), 'content-length': Buffer.byteLength(payload)})
      res.end(payload)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo
  return {
    url: `https://127.0.0.1:${port}`,
    ca: ca.cert,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/**
 * A list GET the recording lacks, built from recorded resources only: `{value: [...]}` of the
 * recorded GET answers of the resources directly under the path (`.../hybridConnections`), or,
 * for a subscription-wide list (`/subscriptions/{s}/providers/{ns}/{type}`), of that type in
 * every resource group. Nothing is invented: an empty list is still a 404.
 */
function collection(answers: Map<string, Interaction>, path: string): Interaction | undefined {
  const want = path.toLowerCase().replace(/\/+$/, '')
  const wide = /^\/subscriptions\/([^/]+)\/providers\/([^/]+)\/([^/]+)$/.exec(want)
  const members: unknown[] = []
  for (const [key, i] of answers) {
    if (!key.startsWith('GET ') || i.method !== 'GET' || i.status !== 200) continue
    const p = key.slice(4)
    const direct = p.startsWith(`${want}/`) && !p.slice(want.length + 1).includes('/')
    const sameType = wide && new RegExp(`^/subscriptions/${wide[1]}/resourcegroups/[^/]+/providers/${wide[2]!.replace('.', '\\.')}/${wide[3]}/[^/]+$`).test(p)
    if (direct || sameType) members.push(i.body)
  }
  const plan = /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.web\/serverfarms\/[^/]+)\/hybridconnectionrelays$/.exec(want)
  if (plan) members.push(...[...planRelays(answers, plan[1]!).values()].map((r) => r.item))
  const users = /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.web\/serverfarms\/[^/]+)\/hybridconnectionnamespaces\/([^/]+)\/relays\/([^/]+)\/sites$/.exec(want)
  if (users) members.push(...(planRelays(answers, users[1]!).get(`${users[2]}/${users[3]}`)?.sites ?? []))
  if (members.length === 0) return undefined
  return {index: -1, method: 'GET', path, query: new URLSearchParams(), apiVersion: '', status: 200, body: {value: members}}
}

/**
 * The plan-level views were never recorded: serverfarms/{plan}/hybridConnectionRelays (one item
 * per relay the plan's apps use) and .../relays/{hc}/sites (the apps using one), arm-surface.md
 * §6. They are built from the recorded app and slot lists of apps on that plan: the same
 * properties under the plan's id and type, and the apps as {id, name}.
 */
function planRelays(answers: Map<string, Interaction>, planPath: string): Map<string, {item: unknown; sites: Array<{id: string; name: string}>}> {
  const out = new Map<string, {item: unknown; sites: Array<{id: string; name: string}>}>()
  for (const [key, i] of answers) {
    if (!key.startsWith('GET ') || !key.endsWith('/hybridconnectionrelays') || key.includes('/serverfarms/')) continue
    const sitePath = key.slice(4, -'/hybridconnectionrelays'.length)
    const site = answers.get(`GET ${sitePath}`)?.body as {id: string; name: string; properties?: {serverFarmId?: string}} | undefined
    const planId = site?.properties?.serverFarmId
    if (!site || planId?.toLowerCase() !== planPath) continue
    for (const item of (i.body as {value?: Array<{name: string; properties: {serviceBusNamespace: string}}>}).value ?? []) {
      const ns = item.properties.serviceBusNamespace
      const k = `${ns}/${item.name}`.toLowerCase()
      const entry = out.get(k) ?? {item: {...item, id: `${planId}/hybridConnectionNamespaces/${ns}/relays/${item.name}`, type: 'Microsoft.Web/serverfarms/hybridConnectionNamespaces/relays'}, sites: []}
      entry.sites.push({id: site.id, name: site.name})
      out.set(k, entry)
    }
  }
  return out
}

/** The shape of a JSON value: property names (case kept) and value types, values aside. */
export type Shape = string | Shape[] | {[key: string]: Shape}

export function shapeOf(value: unknown): Shape {
  if (value === null) return 'null'
  if (Array.isArray(value)) return value.length === 0 ? [] : [shapeOf(value[0])]
  if (typeof value === 'object') {
    const out: Record<string, Shape> = {}
    for (const k of Object.keys(value as object).sort()) out[k] = shapeOf((value as Record<string, unknown>)[k])
    return out
  }
  return typeof value
}

/**
 * The differences between two shapes, as `path: what` lines: a property only one side has, or
 * a value whose type differs. `null` on either side matches any type (Azure answers null where
 * a value is unset). Arrays compare their first items; the names inside `tags` are data.
 */
export function shapeDifferences(azure: unknown, emulator: unknown, path = ''): string[] {
  const a = shapeOf(azure)
  const e = shapeOf(emulator)
  return diff(a, e, path)
}

function diff(a: Shape, e: Shape, path: string): string[] {
  if (a === 'null' || e === 'null') return []
  if (typeof a === 'string' || typeof e === 'string') return a === e ? [] : [`${path || '(body)'}: Azure ${describe(a)}, emulator ${describe(e)}`]
  if (Array.isArray(a) || Array.isArray(e)) {
    if (!Array.isArray(a) || !Array.isArray(e)) return [`${path || '(body)'}: Azure ${describe(a)}, emulator ${describe(e)}`]
    if (a.length === 0 || e.length === 0) return []
    return diff(a[0]!, e[0]!, `${path}[]`)
  }
  const out: string[] = []
  if (/(^|\.)tags$/.test(path)) return out // tag names are the user's data, not the contract
  for (const k of new Set([...Object.keys(a), ...Object.keys(e)])) {
    const at = path ? `${path}.${k}` : k
    if (!(k in a)) out.push(`${at}: only the emulator has it`)
    else if (!(k in e)) out.push(`${at}: only Azure has it`)
    else out.push(...diff(a[k]!, e[k]!, at))
  }
  return out
}

function describe(s: Shape): string {
  return typeof s === 'string' ? s : Array.isArray(s) ? 'an array' : 'an object'
}
