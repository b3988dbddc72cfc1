import type {Agent} from 'node:https'
import type {Socket} from 'node:net'

import {withDeadline} from '../deadline.js'
import type {CloudProfile} from './clouds.js'

/**
 * The HTTP transport under the ARM client: one request, one answer, no retries, no auth.
 * The real one uses node:https with a per-cloud https.Agent (the cloud's CA, proxies from
 * HTTPS_PROXY/NO_PROXY); unit tests inject a fake.
 */
export interface TransportRequest {
  method: string
  url: string
  headers: Record<string, string>
  body?: string
  /** Whole-request deadline in milliseconds. */
  timeoutMs: number
  signal?: AbortSignal
}

export interface TransportResponse {
  status: number
  /** Lower-case header names. */
  headers: Record<string, string>
  body: string
}

export type Transport = (request: TransportRequest) => Promise<TransportResponse>

/** A request that never got an HTTP answer: connection refused/reset, TLS failure, DNS, timeout. */
export class TransportError extends Error {
  override name = 'TransportError'
  readonly code: string
  /** The deadline passed before the answer was complete. */
  readonly timeout: boolean
  /** TLS verification failed (not worth retrying). */
  readonly tls: boolean
  constructor(message: string, options: {code?: string; timeout?: boolean; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.code = options.code ?? 'ENETWORK'
    this.timeout = options.timeout ?? false
    this.tls = TLS_CODES.has(this.code) || /certificate|self[- ]signed/i.test(message)
  }
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
])

export interface ProxyOptions {
  /** Environment for HTTPS_PROXY/NO_PROXY (default process.env). */
  env?: NodeJS.ProcessEnv
  /** Also proxy loopback addresses (off by default: local servers are reached directly). */
  loopback?: boolean
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[?::1\]?)$/i

/**
 * The proxy URL for an https target URL, or undefined: loopback hosts are direct unless
 * `loopback`, the rest is proxyForHost (one NO_PROXY reading for ARM calls, the relay data
 * plane and `check`).
 */
export async function proxyFor(url: string, options: ProxyOptions = {}): Promise<string | undefined> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
  if (!options.loopback && isLoopbackHost(host)) return undefined
  return proxyForHost(host, options.env ?? process.env)
}

/**
 * The HTTPS proxy for a relay host name from HTTPS_PROXY/https_proxy/ALL_PROXY, honouring
 * NO_PROXY as curl does (`example.com` and `.example.com` both cover subdomains, `*` all).
 * ARM calls, the relay data plane and `check` decide with this one function, so what `check`
 * tests is the path the agent and the forwarder take.
 */
export function proxyForHost(host: string, env: NodeJS.ProcessEnv): string | undefined {
  const proxy = env.HTTPS_PROXY ?? env.https_proxy ?? env.ALL_PROXY ?? env.all_proxy
  if (!proxy) return undefined
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(/[,\s]+/).filter(Boolean)
  const h = host.toLowerCase()
  for (const entry of noProxy) {
    const e = entry.toLowerCase().replace(/:\d+$/, '')
    if (e === '*') return undefined
    const bare = e.replace(/^\*?\./, '')
    if (h === bare || h.endsWith(`.${bare}`)) return undefined
  }
  return proxy
}

/** True for loopback hosts (localhost, 127.x, ::1), which are reached directly by default. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host)
}

/** A CONNECT through an HTTP proxy failed: `status` is the proxy's answer (0 when it dropped). */
export class ProxyTunnelError extends Error {
  override name = 'ProxyTunnelError'
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

/**
 * Opens a CONNECT tunnel to `host:port` through `proxyUrl` (http[s]://[user:pass@]proxy:port)
 * and resolves with the raw socket, for a TLS session to run inside it. A refusal keeps the
 * proxy's status (407: it wants credentials), so it is never mistaken for an answer from the
 * target. Messages name the proxy by host only: never its credentials.
 */
export async function openConnectTunnel(proxyUrl: string, host: string, port: number, options: {timeoutMs: number; signal?: AbortSignal}): Promise<Socket> {
  const proxy = new URL(proxyUrl)
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`
  const auth = proxy.username ? {'Proxy-Authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`} : {}
  const {request} = proxy.protocol === 'https:' ? await import('node:https') : await import('node:http')
  const timeoutError = (): Error => Object.assign(new Error(`CONNECT ${authority} via ${proxy.host}: no answer within ${options.timeoutMs} ms`), {code: 'ETIMEDOUT'})
  return withDeadline<Socket>({timeoutMs: options.timeoutMs, signal: options.signal, timeoutError}, (settle) => {
    const req = request({
      host: proxy.hostname,
      port: Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      headers: {Host: authority, ...auth},
      agent: false,
    })
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) {
        settle(undefined, socket)
      } else {
        socket.destroy()
        settle(new ProxyTunnelError(`the proxy ${proxy.host} answered CONNECT ${authority} with ${res.statusCode} ${res.statusMessage ?? ''}`.trim(), res.statusCode ?? 0))
      }
    })
    req.once('error', (e) => settle(new ProxyTunnelError(`the proxy ${proxy.host} could not be reached for CONNECT ${authority}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, 0)))
    req.end()
    return (error) => {
      if (error) req.destroy()
    }
  })
}

/**
 * https.Agents for one cloud: they trust the cloud's CA (and only it) when the profile has
 * one, else the system's; never NODE_TLS_REJECT_UNAUTHORIZED. One agent per proxy.
 */
export class CloudAgents {
  private readonly agents = new Map<string, Agent>()
  constructor(
    private readonly cloud: Pick<CloudProfile, 'ca'>,
    private readonly proxy: ProxyOptions = {},
  ) {}

  /** The agent for a URL (direct or through the proxy the environment names for it). */
  async agentFor(url: string): Promise<Agent> {
    const proxyUrl = await proxyFor(url, this.proxy)
    const key = proxyUrl ?? ''
    let agent = this.agents.get(key)
    if (!agent) {
      agent = await makeAgent(this.cloud.ca, proxyUrl)
      this.agents.set(key, agent)
    }
    return agent
  }

  destroy(): void {
    for (const a of this.agents.values()) a.destroy()
    this.agents.clear()
  }
}

async function makeAgent(ca: string | undefined, proxyUrl: string | undefined): Promise<Agent> {
  const tlsOptions = ca ? {ca} : {}
  if (!proxyUrl) {
    const https = await import('node:https')
    return new https.Agent({keepAlive: true, ...tlsOptions})
  }
  const {HttpsProxyAgent} = await import('https-proxy-agent')
  // HttpsProxyAgent drops agent-level TLS options for the target; add the CA per connection.
  type Connect = InstanceType<typeof HttpsProxyAgent<string>>['connect']
  class CaProxyAgent extends HttpsProxyAgent<string> {
    override async connect(req: Parameters<Connect>[0], opts: Parameters<Connect>[1]) {
      return super.connect(req, {...opts, ...tlsOptions})
    }
  }
  return new CaProxyAgent(proxyUrl, {keepAlive: true}) as unknown as Agent
}

/**
 * The real transport: node:https over the cloud's agents. One request, the whole answer as
 * text, no redirects followed, no retries (the ARM client owns those). Node's own client, not
 * axios: axios resolves and compiles about 180 modules on every ARM command, which cost more
 * than the request itself against a local endpoint.
 */
export function httpsTransport(agents: CloudAgents): Transport {
  return async (request) => {
    const agent = await agents.agentFor(request.url)
    const https = await import('node:https')
    return new Promise<TransportResponse>((resolve, reject) => {
      let settled = false
      let timedOut = false
      const finish = (error: Error | undefined, response?: TransportResponse) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        request.signal?.removeEventListener('abort', onAbort)
        if (!error) return resolve(response!)
        if (request.signal?.aborted) return reject(request.signal.reason ?? error)
        if (timedOut) return reject(new TransportError(`no complete answer within ${request.timeoutMs} ms`, {code: 'ETIMEDOUT', timeout: true, cause: error}))
        const e = error as Error & {code?: string; cause?: {code?: string}}
        reject(new TransportError(e.message || String(error), {code: e.code ?? e.cause?.code, cause: error}))
      }
      const headers: Record<string, string> = {...request.headers}
      if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body))
      const req = https.request(request.url, {method: request.method, headers, agent}, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', (e) => finish(e))
        res.on('end', () => {
          if (!res.complete) return finish(Object.assign(new Error('the connection closed before the answer was complete'), {code: 'ECONNRESET'}))
          const out: Record<string, string> = {}
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
          }
          finish(undefined, {status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks).toString('utf8')})
        })
      })
      const timer = setTimeout(() => {
        timedOut = true
        req.destroy(new Error('timeout'))
      }, request.timeoutMs)
      const onAbort = () => req.destroy(request.signal?.reason instanceof Error ? request.signal.reason : new Error('aborted'))
      if (request.signal?.aborted) onAbort()
      else request.signal?.addEventListener('abort', onAbort, {once: true})
      req.on('error', (e) => finish(e))
      req.end(request.body)
    })
  }
}
