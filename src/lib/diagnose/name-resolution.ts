import {isIP} from 'node:net'

import type {ArmClient} from '../azure/arm-types.js'
import {siteId} from '../azure/resource-id.js'
import {type AppRef, siteRefOf, type WebHybridConnection} from '../hybrid/model.js'
import {relayOf} from '../hybrid/usages.js'
import {readKuduAnswer} from './kudu.js'

/**
 * What an App Service app resolves for a name (Kudu's `nameresolver`, through the command API),
 * and whether the app sends that name through a hybrid connection. App Service redirects a
 * connection through a hybrid connection when the app looks up exactly the name configured on
 * it (case-insensitive; a short name, another FQDN or an IP address is not redirected). When
 * the app's own DNS (a VNet-integrated app's private DNS zone) answers the name with a private
 * address, the app connects there instead [per the model; Microsoft documents only the
 * "DNS request that matches" rule].
 */
export interface KuduNameAnswer {
  /** The DNS server nameresolver reports, when it says. */
  server?: string
  addresses: string[]
  /** True when nameresolver said the name does not exist. */
  notFound: boolean
}

/** Parses nameresolver's nslookup-like output (`Addresses:` lines, or `*** Can't find`). */
export function parseKuduNameResolver(output: string): KuduNameAnswer {
  const lines = output.split(/\r?\n/)
  const server = lines.map((l) => /^\s*Server:\s*(\S+)/i.exec(l)?.[1]).find(Boolean)
  const notFound = lines.some((l) => /can't find|cannot find|non-existent domain|no such host/i.test(l))
  const addresses: string[] = []
  let inAnswer = false
  for (const raw of lines) {
    const l = raw.trim()
    if (/^Name:/i.test(l)) inAnswer = true
    if (!inAnswer) continue
    const m = /^Address(?:es)?:\s*(.*)$/i.exec(l)
    const candidates = m ? m[1]!.split(/[\s,]+/) : /^\S+$/.test(l) ? [l] : []
    for (const c of candidates) if (isIP(c)) addresses.push(c)
  }
  return {...(server ? {server} : {}), addresses, notFound: notFound && addresses.length === 0}
}

/** RFC 1918, CGNAT, link-local and unique-local: addresses only a private network reaches (loopback is not a network path). */
export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const [a, b] = address.split('.').map(Number) as [number, number]
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254)
  }
  const v6 = address.toLowerCase()
  return /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6)
}

export type Redirect = 'hybrid-connection' | 'elsewhere' | 'not-configured'

export interface AppNameResolution {
  name: string
  /** The app's hybrid connections whose hostname is exactly this name (case-insensitive). */
  matches: Array<{namespace: string; name: string; hostname: string; port?: number}>
  /** Hybrid connection hostnames that look like this name but are not it (short name, other FQDN). */
  nearMisses: string[]
  /** What the app's DNS answered (undefined when the command API could not run nameresolver). */
  answer?: KuduNameAnswer
  /** Why nameresolver did not run. */
  unavailable?: string
  redirect: Redirect
}

const firstLabel = (n: string) => n.toLowerCase().replace(/\.$/, '').split('.')[0]

/** Decides from the app's hybrid connections and its DNS answer where a connection to `name` goes. */
export function judgeResolution(name: string, relays: WebHybridConnection[], answer: KuduNameAnswer | undefined): Pick<AppNameResolution, 'matches' | 'nearMisses' | 'redirect'> {
  const want = name.toLowerCase()
  const matches: AppNameResolution['matches'] = []
  const nearMisses = new Set<string>()
  for (const r of relays) {
    const h = r.properties?.hostname
    const key = relayOf(r)
    if (!h || !key) continue
    if (h.toLowerCase() === want) matches.push({namespace: key.namespace, name: key.name, hostname: h, ...(r.properties.port ? {port: Number(r.properties.port)} : {})})
    else if (firstLabel(h) === firstLabel(name) || h.toLowerCase().replace(/\.$/, '') === want.replace(/\.$/, '')) nearMisses.add(h)
  }
  let redirect: Redirect = matches.length > 0 ? 'hybrid-connection' : 'not-configured'
  if (redirect === 'hybrid-connection' && answer && answer.addresses.some(isPrivateAddress)) redirect = 'elsewhere'
  return {matches, nearMisses: [...nearMisses], redirect}
}

/** Runs `nameresolver NAME` inside the app (Kudu command API) and judges the answer. */
export async function resolveFromApp(o: {arm: ArmClient; subscriptionId: string; app: AppRef; name: string; relays: WebHybridConnection[]; signal?: AbortSignal}): Promise<AppNameResolution> {
  let answer: KuduNameAnswer | undefined
  let unavailable: string | undefined
  try {
    const r = await o.arm.request<unknown>({
      method: 'POST',
      path: `${siteId(siteRefOf(o.subscriptionId, o.app))}/extensions/api/command`,
      body: {command: `nameresolver ${o.name}`, dir: null},
      idempotent: true,
      signal: o.signal,
    })
    const k = readKuduAnswer(r.body)
    const parsed = parseKuduNameResolver(k.output)
    if (parsed.addresses.length === 0 && !parsed.notFound) unavailable = `nameresolver gave no answer: ${(k.error || k.output).trim().split(/\r?\n/)[0] ?? ''}`.slice(0, 200)
    else answer = parsed
  } catch (error) {
    unavailable = (error as Error).message.split('\n')[0]!.slice(0, 200)
  }
  return {name: o.name, ...judgeResolution(o.name, o.relays, answer), ...(answer ? {answer} : {}), ...(unavailable ? {unavailable} : {})}
}
