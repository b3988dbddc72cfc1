import {once} from 'node:events'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {createCertificateAuthority, createServerCertificate} from '../../src/emulator/certs.js'

export interface RecordedRequest {
  method: string
  /** Path and query as received. */
  url: string
  path: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
  body: string
  /** Arrival time (ms, performance clock). */
  at: number
}

export interface Answer {
  status?: number
  headers?: Record<string, string>
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown
  /** Wait this long before answering (for timeouts). */
  delayMs?: number
}

export type Handler = (req: RecordedRequest, server: ScriptedServer) => Answer | Promise<Answer>

export interface ScriptedServer {
  /** https://127.0.0.1:PORT */
  url: string
  port: number
  /** The CA that signed the server certificate (PEM). */
  caPem: string
  /** A cloud profile JSON file pointing at this server, trusting its CA only. */
  profilePath: string
  dir: string
  requests: RecordedRequest[]
  /**
   * Scripts a route: `METHOD /path` (path without query, case-sensitive). Each request takes
   * the next answer; the last one repeats. A function answers every request.
   */
  on(route: string, answers: Answer[] | Handler): void
  /** Requests seen for a route (same key as `on`). */
  seen(route: string): RecordedRequest[]
  reset(): void
  close(): Promise<void>
}

/**
 * An HTTPS server on 127.0.0.1:0 with a certificate from a CA it makes itself, scripted per
 * route, recording every request (headers, body, arrival time). Unscripted routes answer 404
 * in the ARM error shape. Also scripts an Entra-like token service for
 * `{tenant}/v2.0/.well-known/openid-configuration` and `{tenant}/oauth2/v2.0/token` when
 * `tokenService` is given.
 */
export async function startScriptedServer(
  options: {tokenService?: {tenant: string; clientId: string; clientSecret: string; accessToken: string}; profile?: Record<string, unknown>} = {},
): Promise<ScriptedServer> {
  const ca = await createCertificateAuthority('hcctl test CA')
  const cert = await createServerCertificate(ca, {dnsNames: ['localhost'], ipAddresses: ['127.0.0.1']})
  const routes = new Map<string, {answers: Answer[] | Handler; index: number}>()
  const requests: RecordedRequest[] = []
  const ref: {self?: ScriptedServer} = {}

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const full = new URL(req.url ?? '/', 'https://127.0.0.1')
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      path: full.pathname,
      query: full.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      at: performance.now(),
    }
    requests.push(record)
    let answer: Answer
    const token = options.tokenService ? tokenAnswer(record, ref.self!.url, options.tokenService) : undefined
    if (token) {
      answer = token
    } else {
      const route = routes.get(`${record.method} ${record.path}`)
      if (!route) {
        answer = {status: 404, body: {error: {code: 'NoScript', message: `no script for ${record.method} ${record.path}`}}}
      } else if (typeof route.answers === 'function') {
        answer = await route.answers(record, ref.self!)
      } else {
        answer = route.answers[Math.min(route.index, route.answers.length - 1)]!
        route.index++
      }
    }
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs))
    if (res.destroyed) return
    const body = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)
    const headers: Record<string, string> = {'x-ms-request-id': `srv-${requests.length}`, ...answer.headers}
    if (body !== '' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json; charset=utf-8'
    res.writeHead(answer.status ?? 200, headers)
    res.end(body)
  }

  const server: Server = createServer({cert: cert.cert, key: cert.key}, (req, res) => {
    handle(req, res).catch((error) => {
      res.writeHead(500)
      res.end(String(error))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as {port: number}).port
  const url = `https://127.0.0.1:${port}`
  const dir = mkdtempSync(join(tmpdir(), 'hcctl-scripted-'))
  writeFileSync(join(dir, 'ca.pem'), ca.cert)
  const profilePath = join(dir, 'profile.json')
  writeFileSync(
    profilePath,
    JSON.stringify({name: 'scripted', armEndpoint: url, armAudience: 'https://management.scripted.test', authorityHost: url, relaySuffix: '.relay.scripted.test', caPath: 'ca.pem', disableInstanceDiscovery: true, ...options.profile}),
  )
  const self: ScriptedServer = {
    url,
    port,
    caPem: ca.cert,
    profilePath,
    dir,
    requests,
    on(route, answers) {
      routes.set(route, {answers, index: 0})
    },
    seen(route) {
      return requests.filter((r) => `${r.method} ${r.path}` === route)
    },
    reset() {
      routes.clear()
      requests.length = 0
    },
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
  ref.self = self
  return self
}

function tokenAnswer(
  req: RecordedRequest,
  base: string,
  t: {tenant: string; clientId: string; clientSecret: string; accessToken: string},
): Answer | undefined {
  if (req.method === 'GET' && req.path === `/${t.tenant}/v2.0/.well-known/openid-configuration`) {
    return {
      body: {
        issuer: `${base}/${t.tenant}/v2.0`,
        authorization_endpoint: `${base}/${t.tenant}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/${t.tenant}/oauth2/v2.0/token`,
        end_session_endpoint: `${base}/${t.tenant}/oauth2/v2.0/logout`,
        jwks_uri: `${base}/${t.tenant}/discovery/v2.0/keys`,
        response_modes_supported: ['query'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
      },
    }
  }
  if (req.method === 'POST' && req.path === `/${t.tenant}/oauth2/v2.0/token`) {
    const form = new URLSearchParams(req.body)
    if (form.get('client_id') !== t.clientId || form.get('client_secret') !== t.clientSecret) {
      return {status: 401, body: {error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215]}}
    }
    return {body: {token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: t.accessToken}}
  }
  return undefined
}

/** A JWT-shaped fake token (unsigned) with the given claims. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${b64({alg: 'RS256', typ: 'JWT', kid: 'test'})}.${b64(claims)}.${Buffer.from('not-a-real-signature-0123456789').toString('base64url')}`
}
