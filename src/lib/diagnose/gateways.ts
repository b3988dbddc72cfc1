import {lookup, resolveCname} from 'node:dns/promises'
import {setMaxListeners} from 'node:events'
import {connect as netConnect, isIP, type Socket} from 'node:net'
import {performance} from 'node:perf_hooks'
import {connect as tlsConnect} from 'node:tls'

import type {CloudProfile, ResolverOverride} from '../azure/clouds.js'
import {withDeadline} from '../deadline.js'
import {HcctlError, ExitCode} from '../errors.js'
import {mapLimit} from '../hybrid/context.js'
import {round2} from './stats.js'

/**
 * The relay gateways of a namespace's stamp (product docs, "Hybrid Connection Manager" →
 * troubleshooting): besides `{ns}.servicebus.windows.net`, an agent's network must reach
 * `G0…G127-prod-{stamp}-sb.servicebus.windows.net` and `GV0…GV127-prod-{stamp}-sb…`, 256 names.
 * A firewall that allows only some of them gives intermittent failures no other check shows.
 * The stamp is the `prod-{stamp}` part of the namespace name's CNAME chain
 * (`ns-sb2-prod-sn3-010.cloudapp.net` → `sn3-010`), which is what the docs' `nslookup` shows.
 */
export const GATEWAYS_PER_GROUP = 128
export type GatewayGroup = 'G' | 'GV'

export interface GatewayName {
  name: string
  group: GatewayGroup
  index: number
}

/** `resolved`: `--resolve` only (DNS answered, nothing connected). */
export type GatewayStatus = 'reachable' | 'resolved' | 'blocked' | 'unknown'
export type GatewayStage = 'dns' | 'tcp' | 'tls' | 'deadline'

export interface GatewayProbe extends GatewayName {
  status: GatewayStatus
  /** Where the probe went (the resolved address, or the resolver override's). */
  address?: string
  port?: number
  /** The stage that failed (blocked) or where the total deadline cut the probe off (unknown). */
  stage?: GatewayStage
  error?: string
  /** TLS: whether the certificate was trusted (false: something on the path presents its own). */
  trusted?: boolean
  timeMs?: number
}

export interface StampFacts {
  /** The namespace's host name, e.g. contoso.servicebus.windows.net */
  host: string
  stamp: string
  /** `cname`: read from the chain; `flag`: given with --stamp. */
  source: 'cname' | 'flag'
  /** The CNAME chain from the host (first entry) to the last alias found. */
  cnameChain: string[]
}

/** `G0-prod-sn3-010-sb.servicebus.windows.net` … `GV127-…`, G first, in index order. */
export function gatewayNames(stamp: string, relaySuffix: string): GatewayName[] {
  const suffix = relaySuffix.startsWith('.') ? relaySuffix : `.${relaySuffix}`
  const out: GatewayName[] = []
  for (const group of ['G', 'GV'] as const) {
    for (let index = 0; index < GATEWAYS_PER_GROUP; index++) out.push({name: `${group}${index}-prod-${stamp}-sb${suffix}`, group, index})
  }
  return out
}

/** A stamp as it appears in the names: `sn3-010`, `bn3-az402` (letters, digits, one hyphen). */
export const STAMP_PATTERN = /^[a-z0-9]+-[a-z0-9]+$/i

/**
 * The stamp from one CNAME target, e.g. `ns-sb2-prod-sn3-010.cloudapp.net`,
 * `ns-sb2-prod-bn3-az402.trafficmanager.net` or `ns-sb2-prod-bn3-az402-s2.cloudapp.net`
 * (a trailing `-sN` is the stamp's scale unit, not part of the gateway names) [inferred from
 * published nslookup output; Microsoft documents only "use nslookup"].
 */
export function stampFromAlias(alias: string): string | undefined {
  const label = alias.split('.')[0] ?? ''
  const m = /(?:^|-)prod-(.+)$/i.exec(label)
  if (!m) return undefined
  const rest = m[1]!.replace(/-s\d+$/i, '').toLowerCase()
  return STAMP_PATTERN.test(rest) ? rest : undefined
}

export function stampFromChain(chain: string[]): string | undefined {
  for (const alias of chain.slice(1)) {
    const stamp = stampFromAlias(alias)
    if (stamp) return stamp
  }
  return undefined
}

function patternMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.toLowerCase().split('*').map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('[^.]+')}$`)
  return re.test(name.toLowerCase())
}

/**
 * What the profile's resolver override says about a name: an address (`ip:port`), NXDOMAIN
 * (null), a CNAME, or nothing (undefined: ask DNS). Exact names beat patterns, longer
 * patterns beat shorter ones, `address` beats `cname` at the same rank.
 */
export function overrideAnswer(override: ResolverOverride | undefined, name: string): {address: {host: string; port: number} | null} | {cname: string} | undefined {
  if (!override) return undefined
  const n = name.toLowerCase().replace(/\.$/, '')
  type Hit = {rank: number; answer: {address: {host: string; port: number} | null} | {cname: string}}
  const hits: Hit[] = []
  const consider = (key: string, answer: Hit['answer'], kindBonus: number) => {
    const k = key.toLowerCase()
    if (k === n) hits.push({rank: 1e6 + kindBonus, answer})
    else if (k.includes('*') && patternMatch(k, n)) hits.push({rank: k.replace(/\*/g, '').length * 2 + kindBonus, answer})
  }
  for (const [k, v] of Object.entries(override.address ?? {})) consider(k, {address: v === null ? null : splitAddress(v)}, 1)
  for (const [k, v] of Object.entries(override.cname ?? {})) consider(k, {cname: v}, 0)
  hits.sort((a, b) => b.rank - a.rank)
  return hits[0]?.answer
}

function splitAddress(text: string): {host: string; port: number} {
  const i = text.lastIndexOf(':')
  return {host: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1))}
}

/** The seams a test (or another resolver) can replace. */
export interface GatewayNet {
  /** CNAME targets of a name ([] when it has none). */
  cname(name: string): Promise<string[]>
  /** Addresses of a name (throws ENOTFOUND and friends). */
  lookup(name: string): Promise<string[]>
}

export const systemNet: GatewayNet = {
  async cname(name) {
    try {
      return await resolveCname(name)
    } catch (error) {
      const code = (error as {code?: string}).code
      if (code === 'ENODATA' || code === 'ENOTFOUND' || code === 'NOTFOUND') return []
      throw error
    }
  },
  async lookup(name) {
    return (await lookup(name, {all: true})).map((a) => a.address)
  },
}

/** Follows the CNAME chain of `host` (at most 8 links), through the override first. */
export async function cnameChain(host: string, override: ResolverOverride | undefined, net: GatewayNet = systemNet): Promise<string[]> {
  const chain = [host]
  let name = host
  for (let i = 0; i < 8; i++) {
    const o = overrideAnswer(override, name)
    let next: string | undefined
    if (o && 'cname' in o) next = o.cname
    else if (o) break
    else next = (await net.cname(name))[0]
    if (!next || chain.some((c) => c.toLowerCase() === next!.toLowerCase())) break
    chain.push(next)
    name = next
  }
  return chain
}

/** The stamp of a namespace: `--stamp`, else its CNAME chain; a clear error when neither says. */
export async function findStamp(options: {host: string; stamp?: string; cloud: CloudProfile; net?: GatewayNet}): Promise<StampFacts> {
  if (options.stamp !== undefined) {
    const stamp = options.stamp.trim().toLowerCase()
    if (!STAMP_PATTERN.test(stamp)) {
      throw new HcctlError(`--stamp "${options.stamp}" is not a stamp name such as sn3-010 (letters and digits, one hyphen).`, ExitCode.Usage, {code: 'InvalidStamp'})
    }
    return {host: options.host, stamp, source: 'flag', cnameChain: [options.host]}
  }
  let chain: string[]
  try {
    chain = await cnameChain(options.host, options.cloud.resolver, options.net)
  } catch (error) {
    throw new HcctlError(`Cannot follow the DNS aliases of ${options.host}: ${(error as Error).message}`, ExitCode.CheckFailed, {
      code: 'StampLookupFailed',
      suggestions: [`Check DNS from this machine (nslookup ${options.host}), or give the stamp with --stamp (the "prod-STAMP" part of the alias nslookup shows elsewhere).`],
    })
  }
  const stamp = stampFromChain(chain)
  if (!stamp) {
    throw new HcctlError(
      chain.length > 1
        ? `No relay stamp in the DNS aliases of ${options.host} (${chain.slice(1).join(' -> ')}).`
        : `${options.host} has no DNS alias (CNAME) here, so its stamp cannot be read.`,
      ExitCode.CheckFailed,
      {
        code: 'StampNotFound',
        suggestions: [`Run nslookup ${options.host} where public DNS answers and pass the "prod-STAMP" part with --stamp (e.g. --stamp sn3-010), or allow *${options.cloud.relaySuffix} instead.`],
        data: {cnameChain: chain},
      },
    )
  }
  return {host: options.host, stamp, source: 'cname', cnameChain: chain}
}

export interface ProbeGatewaysOptions {
  cloud: CloudProfile
  names: GatewayName[]
  /** Parallel probes (default 32). */
  concurrency?: number
  /** Per name, for each of DNS, TCP and TLS (default 5 s). */
  timeoutMs?: number
  /** For all names together (default 60 s): what has not finished by then is `unknown`. */
  deadlineMs?: number
  signal?: AbortSignal
  net?: GatewayNet
  /** Resolve only (no TCP/TLS): `hcctl gateways --resolve`. */
  resolveOnly?: boolean
}

export interface GatewayCounts {
  total: number
  reachable: number
  resolved: number
  blocked: number
  unknown: number
}

export interface ProbeGatewaysResult {
  counts: GatewayCounts
  probes: GatewayProbe[]
  /** Names blocked (DNS, TCP or TLS failed), in G/GV index order. */
  blocked: string[]
  deadlineReached: boolean
}

const stageError = (stage: GatewayStage, error: unknown): string => {
  const e = error as {code?: string; message?: string}
  const code = e?.code ?? ''
  const words: Record<string, string> = {
    ENOTFOUND: 'no such name',
    EAI_AGAIN: 'DNS did not answer',
    ECONNREFUSED: 'refused',
    ECONNRESET: 'reset by the network',
    ETIMEDOUT: 'timed out',
    EHOSTUNREACH: 'unreachable',
    ENETUNREACH: 'unreachable',
  }
  return `${stage}: ${words[code] ?? (e?.message ?? String(error)).split('\n')[0]}${code && words[code] ? ` (${code})` : ''}`
}

/** Resolves, connects and shakes hands with each gateway, `concurrency` at a time, within a total deadline. */
export async function probeGateways(options: ProbeGatewaysOptions): Promise<ProbeGatewaysResult> {
  const net = options.net ?? systemNet
  const timeoutMs = options.timeoutMs ?? 5000
  const deadline = new AbortController()
  // Every probe in flight listens to the deadline: up to `concurrency` listeners at once.
  setMaxListeners(0, deadline.signal)
  const timer = setTimeout(() => deadline.abort(), options.deadlineMs ?? 60_000)
  const onAbort = () => deadline.abort()
  options.signal?.addEventListener('abort', onAbort, {once: true})
  try {
    const probes = await mapLimit(options.names, options.concurrency ?? 32, (g) =>
      deadline.signal.aborted ? Promise.resolve<GatewayProbe>({...g, status: 'unknown', stage: 'deadline', error: 'not probed: the total deadline was reached'}) : probeOne(g, options.cloud, net, timeoutMs, deadline.signal, options.resolveOnly),
    )
    const counts: GatewayCounts = {total: probes.length, reachable: 0, resolved: 0, blocked: 0, unknown: 0}
    for (const p of probes) counts[p.status]++
    return {counts, probes, blocked: probes.filter((p) => p.status === 'blocked').map((p) => p.name), deadlineReached: deadline.signal.aborted && !options.signal?.aborted}
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}

async function probeOne(g: GatewayName, cloud: CloudProfile, net: GatewayNet, timeoutMs: number, signal: AbortSignal, resolveOnly?: boolean): Promise<GatewayProbe> {
  const started = performance.now()
  const done = (p: Omit<GatewayProbe, keyof GatewayName | 'timeMs'>): GatewayProbe => ({...g, ...p, timeMs: round2(performance.now() - started)})
  const cut = (stage: GatewayStage, error: unknown, at: {address?: string; port?: number} = {}): GatewayProbe =>
    signal.aborted ? done({status: 'unknown', ...at, stage: 'deadline', error: `${stage}: cut off by the total deadline`}) : done({status: 'blocked', ...at, stage, error: stageError(stage, error)})
  // DNS (or the profile's override)
  let address: string
  let port = 443
  try {
    const o = overrideAnswer(cloud.resolver, g.name)
    if (o && 'address' in o) {
      if (o.address === null) throw Object.assign(new Error(`${g.name}: no such name`), {code: 'ENOTFOUND'})
      address = o.address.host
      port = o.address.port
    } else {
      const found = await withTimeout(net.lookup(o ? o.cname : g.name), timeoutMs, signal, 'DNS')
      if (found.length === 0) throw Object.assign(new Error('no address'), {code: 'ENOTFOUND'})
      address = found[0]!
    }
  } catch (error) {
    return cut('dns', error)
  }
  if (resolveOnly) return done({status: 'resolved', address, port})
  // TCP
  let socket: Socket
  try {
    socket = await withDeadline<Socket>(
      {timeoutMs, signal, timeoutError: () => Object.assign(new Error('timed out'), {code: 'ETIMEDOUT'})},
      (settle) => {
        const s = netConnect({host: address, port, family: isIP(address) || undefined})
        s.once('connect', () => settle(undefined, s))
        s.once('error', (e) => settle(e))
        return (error) => {
          if (error) s.destroy()
        }
      },
    )
  } catch (error) {
    return cut('tcp', error, {address, port})
  }
  // TLS, with SNI = the gateway name, trusting the profile's CA when it has one
  try {
    const trusted = await withDeadline<boolean>(
      {timeoutMs, signal, timeoutError: () => Object.assign(new Error('no TLS answer'), {code: 'ETIMEDOUT'})},
      (settle) => {
        const t = tlsConnect({socket, servername: g.name, ca: cloud.ca, rejectUnauthorized: false, ALPNProtocols: ['http/1.1']})
        t.once('secureConnect', () => settle(undefined, t.authorized))
        t.once('error', (e) => settle(e))
        t.once('close', () => settle(Object.assign(new Error('closed during the TLS handshake'), {code: 'ECONNRESET'})))
        return () => t.destroy()
      },
    )
    return done({status: 'reachable', address, port, trusted})
  } catch (error) {
    socket.destroy()
    return cut('tls', error, {address, port})
  }
}

function withTimeout<T>(p: Promise<T>, timeoutMs: number, signal: AbortSignal, what: string): Promise<T> {
  return withDeadline<T>({timeoutMs, signal, timeoutError: () => Object.assign(new Error(`${what}: no answer within ${timeoutMs} ms`), {code: 'ETIMEDOUT'})}, (settle) => {
    p.then(
      (v) => settle(undefined, v),
      (e: Error) => settle(e),
    )
    return () => {}
  })
}

export interface GatewaysInput {
  cloud: CloudProfile
  namespace: string
  stamp?: string
  /** none: names only; resolve: add addresses; probe: resolve, TCP and TLS each. */
  mode: 'list' | 'resolve' | 'probe'
  concurrency?: number
  timeoutMs?: number
  deadlineMs?: number
  signal?: AbortSignal
  net?: GatewayNet
}

/** The `--json` result of `hcctl gateways` (and the data of `check --gateways`). */
export interface GatewaysResult {
  namespace: string
  host: string
  stamp: string
  stampSource: 'cname' | 'flag'
  cnameChain: string[]
  /** What a firewall can allow instead of 256 names. */
  wildcard: string
  mode: 'list' | 'resolve' | 'probe'
  /** True unless a probe found a blocked (or unknown) gateway. */
  ok: boolean
  counts?: GatewayCounts
  blocked?: string[]
  deadlineReached?: boolean
  gateways: GatewayProbe[] | GatewayName[]
}

export async function gateways(input: GatewaysInput): Promise<GatewaysResult> {
  const host = `${input.namespace}${input.cloud.relaySuffix}`
  const facts = await findStamp({host, stamp: input.stamp, cloud: input.cloud, net: input.net})
  const names = gatewayNames(facts.stamp, input.cloud.relaySuffix)
  const base = {namespace: input.namespace, host, stamp: facts.stamp, stampSource: facts.source, cnameChain: facts.cnameChain, wildcard: `*${input.cloud.relaySuffix}`, mode: input.mode}
  if (input.mode === 'list') return {...base, ok: true, gateways: names}
  const r = await probeGateways({
    cloud: input.cloud,
    names,
    concurrency: input.concurrency,
    timeoutMs: input.timeoutMs,
    deadlineMs: input.deadlineMs,
    signal: input.signal,
    net: input.net,
    resolveOnly: input.mode === 'resolve',
  })
  return {...base, ok: r.counts.blocked === 0 && r.counts.unknown === 0, counts: r.counts, blocked: r.blocked, deadlineReached: r.deadlineReached, gateways: r.probes}
}

/** Output for a firewall team: names one per line, CSV with addresses and status, or a JSON array. */
export function formatGatewayList(result: GatewaysResult, format: 'list' | 'csv' | 'json'): string {
  const rows = result.gateways as GatewayProbe[]
  if (format === 'list') return rows.map((g) => g.name).join('\n')
  if (format === 'json') return JSON.stringify(rows.map((g) => ({name: g.name, ...(g.address ? {address: g.address, port: g.port} : {}), ...(g.status ? {status: g.status} : {})})), null, 2)
  const csv = (v: unknown) => {
    const s = v === undefined ? '' : String(v)
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  const lines = ['name,group,index,address,port,status,error']
  for (const g of rows) lines.push([g.name, g.group, g.index, g.address, g.port, g.status, g.error].map(csv).join(','))
  return lines.join('\n')
}
