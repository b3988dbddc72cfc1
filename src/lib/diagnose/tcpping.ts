import {lookup as dnsLookup} from 'node:dns/promises'
import {connect as netConnect, isIP} from 'node:net'
import {performance} from 'node:perf_hooks'

import {UsageError} from '../errors.js'
import {type Endpoint, readHostPort} from '../relay/endpoint.js'
import {type LatencyStats, latencyStats, round2} from './stats.js'

/** Why one attempt failed; stable strings (they are in `--json`). */
export type TcpFailure = 'refused' | 'timed out' | 'unreachable' | 'no such host' | 'error'

export interface ResolvedAddress {
  address: string
  family: 4 | 6
}

export interface TcpPingAttempt {
  seq: number
  /** The address connected to (absent when the name did not resolve). */
  address?: string
  connected: boolean
  /** Connect time in ms (also set on failure: how long until it failed). */
  timeMs?: number
  error?: TcpFailure
  /** The system's words for the failure, e.g. `connect ECONNREFUSED 127.0.0.1:1`. */
  message?: string
}

export interface TcpPingSummary extends Partial<LatencyStats> {
  sent: number
  connected: number
  lost: number
  lossPercent: number
}

export interface TcpPingResult {
  target: {host: string; port: number}
  /** Where the attempts ran: this machine, or inside an App Service app (Kudu command API). */
  from: {kind: 'local'} | {kind: 'app'; app: string; slot?: string; hybridConnection?: {namespace: string; name: string}}
  dns: {timeMs?: number; addresses: ResolvedAddress[]; error?: TcpFailure; message?: string; skipped?: 'ip-literal' | 'remote'}
  attempts: TcpPingAttempt[]
  summary: TcpPingSummary
  /** Successful attempts needed for `ok` (default: every attempt). */
  minSuccess: number
  ok: boolean
  /** True when Ctrl+C (the abort signal) ended an open-ended run. */
  interrupted?: boolean
}

export type Resolver = (host: string, family: 0 | 4 | 6) => Promise<ResolvedAddress[]>
export type Connector = (address: ResolvedAddress, port: number, timeoutMs: number, signal?: AbortSignal) => Promise<{timeMs: number}>

export interface TcpPingOptions {
  host: string
  port: number
  /** Attempts; `Infinity` runs until the signal aborts (`-t`). */
  count: number
  intervalMs: number
  timeoutMs: number
  family?: 4 | 6
  /** Successful attempts needed for `ok`; default all of them. */
  minSuccess?: number
  signal?: AbortSignal
  /** Called after DNS and after each attempt (the command prints a line per call). */
  onResolved?: (dns: TcpPingResult['dns']) => void
  onAttempt?: (attempt: TcpPingAttempt) => void
  resolve?: Resolver
  connect?: Connector
}

/**
 * Names that never resolve (RFC 6761 §6.4: `.invalid` must return NXDOMAIN without asking a
 * server). Answering them here keeps probes of such names on this machine.
 */
export function isNeverResolvable(host: string): boolean {
  return /(^|\.)invalid\.?$/i.test(host)
}

/** Splits `host:port`, `[v6]:port` (and rejects what is neither) for the tcpping argument. */
export function parseHostPort(text: string): Endpoint {
  const read = readHostPort(text)
  if (!read.ok) {
    throw new UsageError(`"${text}" is not host:port: ${read.reason}.`, {
      code: 'InvalidHostPort',
      suggestions: ['Give a host and a port 1-65535, e.g. db01.corp.local:1433 or [::1]:8080.'],
    })
  }
  return read.endpoint
}

/** Maps a Node socket/DNS error to the words tcpping reports. */
export function classifyError(error: unknown): TcpFailure {
  const code = (error as {code?: string})?.code
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused'
    case 'ETIMEDOUT':
    case 'ETIMEOUT':
      return 'timed out'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
    case 'ENETDOWN':
    case 'EHOSTDOWN':
      return 'unreachable'
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
    case 'EAI_FAIL':
    case 'EAI_AGAIN':
      return 'no such host'
    default:
      return 'error'
  }
}

export const systemResolver: Resolver = async (host, family) => {
  if (isNeverResolvable(host)) {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host} (a reserved .invalid name never resolves)`), {code: 'ENOTFOUND'})
  }
  const list = await dnsLookup(host, {all: true, family, verbatim: true})
  return list.map((a) => ({address: a.address, family: a.family === 6 ? 6 : 4}))
}

export const tcpConnector: Connector = (address, port, timeoutMs, signal) =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const socket = netConnect({host: address.address, port, family: address.family})
    const done = (error?: Error) => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket.removeAllListeners()
      socket.on('error', () => {})
      socket.destroy()
      if (error) reject(error)
      else resolve({timeMs: performance.now() - started})
    }
    const timer = setTimeout(
      () => done(Object.assign(new Error(`no answer from ${address.address}:${port} within ${timeoutMs} ms`), {code: 'ETIMEDOUT'})),
      timeoutMs,
    )
    const onAbort = () => done(Object.assign(new Error('interrupted'), {code: 'ABORT_ERR'}))
    signal?.addEventListener('abort', onAbort, {once: true})
    socket.once('connect', () => done())
    socket.once('error', (e) => done(e))
  })

/** Builds the summary (and `ok`) from a list of attempts. */
export function summarize(attempts: TcpPingAttempt[], minSuccess?: number): {summary: TcpPingSummary; ok: boolean; minSuccess: number} {
  const times = attempts.filter((a) => a.connected && a.timeMs !== undefined).map((a) => a.timeMs!)
  const sent = attempts.length
  const connected = attempts.filter((a) => a.connected).length
  const lost = sent - connected
  const stats = latencyStats(times, sent >= 10 ? [50, 95] : [])
  const need = Math.min(minSuccess ?? sent, sent)
  return {
    summary: {sent, connected, lost, lossPercent: sent === 0 ? 0 : round2((lost / sent) * 100), ...stats},
    ok: sent > 0 && connected >= Math.max(need, 1),
    minSuccess: need,
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(finish, ms)
    function finish() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', finish)
      resolve()
    }
    signal?.addEventListener('abort', finish, {once: true})
  })
}

/**
 * PsPing-style TCP ping from this machine: DNS once (timed, every address kept), then one TCP
 * connect per attempt to the first address of the wanted family. Never throws for network
 * failures: they are in the result.
 */
export async function tcpPing(options: TcpPingOptions): Promise<TcpPingResult> {
  const {host, port, signal} = options
  const resolve = options.resolve ?? systemResolver
  const connect = options.connect ?? tcpConnector
  const attempts: TcpPingAttempt[] = []
  const dns: TcpPingResult['dns'] = {addresses: []}

  const literal = isIP(host.replace(/^\[|\]$/g, ''))
  if (literal) {
    if (options.family && options.family !== literal) {
      throw new UsageError(`${host} is an IPv${literal} address but -${options.family} was given.`, {code: 'FamilyMismatch'})
    }
    dns.skipped = 'ip-literal'
    dns.addresses = [{address: host.replace(/^\[|\]$/g, ''), family: literal as 4 | 6}]
  } else {
    const started = performance.now()
    try {
      dns.addresses = await resolve(host, options.family ?? 0)
      dns.timeMs = round2(performance.now() - started)
      if (dns.addresses.length === 0) throw Object.assign(new Error(`${host} has no IPv${options.family ?? ''} address`), {code: 'ENOTFOUND'})
    } catch (error) {
      dns.timeMs = round2(performance.now() - started)
      dns.error = classifyError(error)
      if (dns.error === 'error') dns.error = 'no such host'
      dns.message = (error as Error).message
    }
  }
  options.onResolved?.(dns)

  if (dns.error) {
    const attempt: TcpPingAttempt = {seq: 1, connected: false, error: dns.error, message: dns.message}
    attempts.push(attempt)
    options.onAttempt?.(attempt)
  } else {
    const target = dns.addresses[0]!
    for (let seq = 1; seq <= options.count && !signal?.aborted; seq++) {
      if (seq > 1) {
        await sleep(options.intervalMs, signal)
        if (signal?.aborted) break
      }
      const started = performance.now()
      let attempt: TcpPingAttempt
      try {
        const {timeMs} = await connect(target, port, options.timeoutMs, signal)
        attempt = {seq, address: target.address, connected: true, timeMs: round2(timeMs)}
      } catch (error) {
        if (signal?.aborted) break
        attempt = {
          seq,
          address: target.address,
          connected: false,
          timeMs: round2(performance.now() - started),
          error: classifyError(error),
          message: (error as Error).message,
        }
      }
      attempts.push(attempt)
      options.onAttempt?.(attempt)
    }
  }

  const {summary, ok, minSuccess} = summarize(attempts, options.minSuccess)
  return {
    target: {host, port},
    from: {kind: 'local'},
    dns,
    attempts,
    summary,
    minSuccess,
    ok,
    ...(signal?.aborted ? {interrupted: true} : {}),
  }
}
