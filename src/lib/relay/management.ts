import {request} from 'node:https'

import {NotFoundError} from '../errors.js'
import type {HybridConnectionCredentials} from './credentials.js'
import {endpointFromMetadata, type Endpoint} from './endpoint.js'
import {errorForNetwork, errorForUpgrade, RelayError} from './errors.js'
import {buildManagementUrl} from './protocol.js'
import {httpsRequestOptions, type RelayTransport} from './transport.js'

/**
 * The runtime management GET (relay-protocol.md §7.2), how HCM reads a hybrid connection's
 * description with nothing but its Listen key: `GET https://{ns}/{hc}?api-version=2016-07` with
 * `Authorization: <SAS>` and `X-PROCESS-AT: ServiceBus`; the answer is an Atom entry holding a
 * HybridConnectionDescription (CreatedAt, UpdatedAt, RequiresClientAuthorization, UserMetadata,
 * ListenerCount). An Atom *feed* means "not found".
 */
export interface RuntimeDescription {
  requiresClientAuthorization?: boolean
  userMetadata?: string
  listenerCount?: number
  createdAt?: string
  updatedAt?: string
}

export async function getRuntimeDescription(
  creds: HybridConnectionCredentials,
  transport: RelayTransport,
  options: {signal?: AbortSignal; timeoutMs?: number} = {},
): Promise<RuntimeDescription> {
  const url = buildManagementUrl(creds.host, creds.entity)
  const token = creds.token(600)
  const {status, reason, body, contentType} = await new Promise<{status: number; reason: string; body: string; contentType: string}>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        headers: {Authorization: token, 'X-PROCESS-AT': 'ServiceBus', Accept: 'application/atom+xml'},
        signal: options.signal,
        timeout: options.timeoutMs ?? 30_000,
        ...httpsRequestOptions(transport, url),
      },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size <= 1024 * 1024) chunks.push(c)
        })
        res.on('end', () => resolve({status: res.statusCode ?? 0, reason: res.statusMessage ?? '', body: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '')}))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new RelayError('RelayTimeout', `No answer from ${creds.host} to the management GET of "${creds.entity}".`)))
    req.on('error', (e: NodeJS.ErrnoException) => reject(e.name === 'RelayError' ? e : errorForNetwork(e, creds.host)))
    req.end()
  })
  const errorText = extract(body, 'Detail') ?? reason
  if (status === 204 || (status === 200 && /type=feed/i.test(contentType)) || (status === 200 && /<feed[\s>]/.test(body))) {
    throw new NotFoundError(`The hybrid connection "${creds.entity}" does not exist on ${creds.host}.`, {code: 'HybridConnectionNotFound'})
  }
  if (status !== 200) {
    const e = errorForUpgrade(status, errorText, {role: 'listener', entity: creds.entity, host: creds.host})
    throw e
  }
  return parseRuntimeDescription(body)
}

/** Parses the Atom entry; missing elements are left undefined. */
export function parseRuntimeDescription(xml: string): RuntimeDescription {
  const desc = extractRaw(xml, 'HybridConnectionDescription') ?? ''
  const out: RuntimeDescription = {}
  const rca = extract(desc, 'RequiresClientAuthorization')
  if (rca !== undefined) out.requiresClientAuthorization = rca.trim().toLowerCase() === 'true'
  const um = extract(desc, 'UserMetadata')
  if (um !== undefined) out.userMetadata = um
  const lc = extract(desc, 'ListenerCount')
  if (lc !== undefined && /^\d+$/.test(lc.trim())) out.listenerCount = Number(lc.trim())
  const ca = extract(desc, 'CreatedAt')
  if (ca !== undefined) out.createdAt = ca.trim()
  const ua = extract(desc, 'UpdatedAt')
  if (ua !== undefined) out.updatedAt = ua.trim()
  return out
}

/** The endpoint of a hybrid connection through the management GET. */
export async function readEndpoint(creds: HybridConnectionCredentials, transport: RelayTransport, options: {signal?: AbortSignal; timeoutMs?: number} = {}): Promise<Endpoint> {
  const d = await getRuntimeDescription(creds, transport, options)
  return endpointFromMetadata(d.userMetadata)
}

function extractRaw(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<(?:[A-Za-z0-9_]+:)?${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</(?:[A-Za-z0-9_]+:)?${tag}>)`).exec(xml)
  if (!m) return undefined
  return m[1] ?? ''
}

function extract(xml: string, tag: string): string | undefined {
  const raw = extractRaw(xml, tag)
  return raw === undefined ? undefined : unescapeXml(raw)
}

function unescapeXml(text: string): string {
  return text
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}
