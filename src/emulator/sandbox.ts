import {lookup} from 'node:dns/promises'
import {connect} from 'node:net'

import type {SandboxTarget} from './arm/context.js'
import {eq, type StateStore, type WebHcRec} from './state.js'

/**
 * The app sandbox: what an App Service app's Kudu console would do for `tcpping` and
 * `nameresolver`. A host:port that matches one of the app's (or slot's) hybrid connections
 * goes out through the relay as a sender with the app's stored send key, as App Service does;
 * anything else is a plain TCP connection from this machine. Output follows Kudu's tcpping.
 */

export interface KuduResult {
  Output: string
  Error: string
  ExitCode: number
}

/** Opens one sender connection through the relay and resolves once the listener accepted it. */
export type RelayDialer = (options: {namespace: string; name: string; keyName: string; key: string; timeoutMs: number}) => Promise<{close(): void}>

export interface SandboxOptions {
  state: StateStore
  /** The relay path (startEmulator wires src/lib/relay/sender.ts). */
  dialRelay: RelayDialer
  log?: (line: string) => void
}

const USAGE = [
  'tcpping.exe - Opens a TCP socket to a target host:port and returns whether the initial handshake was successful and a connection was established',
  'Usage: tcpping [-n count] [-w timeoutMs] host[:port]',
].join('\n')

interface Ping {
  host: string
  port: number
  count: number
  timeoutMs: number
}

function parseTcpping(args: string[]): Ping | string {
  let count = 4
  let timeoutMs = 5000
  const rest: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '-n' || a === '-w') {
      const v = args[++i]
      if (!v || !/^\d+$/.test(v) || Number(v) < 1) return `${a} needs a positive whole number`
      if (a === '-n') count = Math.min(Number(v), 20)
      else timeoutMs = Math.min(Number(v), 30_000)
    } else if (a === '-t') {
      count = 20
    } else rest.push(a)
  }
  if (rest.length === 0 || rest.length > 2) return 'a target host:port is required'
  let host = rest[0]!
  let port = rest[1] ? Number(rest[1]) : 80
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(host)
  if (v6) {
    host = v6[1]!
    if (v6[2]) port = Number(v6[2])
  } else {
    const m = /^([^:]+):(\d+)$/.exec(host)
    if (m) {
      host = m[1]!
      port = Number(m[2])
    }
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `the port in "${rest.join(' ')}" is not 1-65535`
  return {host, port, count, timeoutMs}
}

/** Splits a command line on spaces, honouring double quotes. */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!)
}

export class AppSandbox {
  constructor(private readonly options: SandboxOptions) {}

  private hybridConnectionsOf(target: SandboxTarget): WebHcRec[] {
    const site = this.options.state.site(target.subscriptionId, target.resourceGroup, target.site)
    if (!site) return []
    if (target.slot) return site.slots.find((s) => eq(s.name, target.slot))?.hybridConnections ?? []
    return site.hybridConnections
  }

  async run(target: SandboxTarget, command: string): Promise<KuduResult> {
    const argv = words(command.trim())
    const program = (argv[0] ?? '').toLowerCase().replace(/\.exe$/, '')
    if (program === 'tcpping') return this.tcpping(target, argv.slice(1))
    if (program === 'nameresolver') return this.nameresolver(target, argv.slice(1))
    return {
      Output: '',
      Error: `'${argv[0] ?? ''}' is not recognized as an internal or external command, operable program or batch file. The emulator's sandbox runs tcpping and nameresolver.\r\n`,
      ExitCode: 1,
    }
  }

  private async tcpping(target: SandboxTarget, args: string[]): Promise<KuduResult> {
    const ping = parseTcpping(args)
    if (typeof ping === 'string') return {Output: `${USAGE}\r\n`, Error: `tcpping: ${ping}\r\n`, ExitCode: 1}
    const hc = this.hybridConnectionsOf(target).find((h) => eq(h.hostname, ping.host) && h.port === ping.port)
    const lines: string[] = []
    const times: number[] = []
    for (let i = 0; i < ping.count; i++) {
      const started = process.hrtime.bigint()
      try {
        if (hc) {
          const conn = await this.options.dialRelay({namespace: hc.serviceBusNamespace, name: hc.relayName, keyName: hc.sendKeyName, key: hc.sendKeyValue, timeoutMs: ping.timeoutMs})
          conn.close()
        } else {
          await tcpConnect(ping.host, ping.port, ping.timeoutMs)
        }
        const ms = Number(process.hrtime.bigint() - started) / 1e6
        times.push(ms)
        lines.push(`Connected to ${ping.host}:${ping.port}, time taken: ${ms < 1 ? '<1' : Math.round(ms)}ms`)
      } catch (error) {
        lines.push(failureLine(error))
      }
    }
    const ok = times.length
    const avg = ok ? times.reduce((a, b) => a + b, 0) / ok : 0
    lines.push(`Complete: ${ok}/${ping.count} successful attempts (${Math.round((ok / ping.count) * 100)}%). Average success time: ${Number(avg.toFixed(2))}ms`)
    if (hc) this.options.log?.(`sandbox: tcpping ${ping.host}:${ping.port} via ${hc.serviceBusNamespace}/${hc.relayName}: ${ok}/${ping.count}`)
    return {Output: lines.join('\r\n') + '\r\n', Error: '', ExitCode: ok > 0 ? 0 : 1}
  }

  private async nameresolver(target: SandboxTarget, args: string[]): Promise<KuduResult> {
    const host = args[0]
    if (!host) return {Output: 'Usage: nameresolver.exe host [server]\r\n', Error: 'nameresolver: a host name is required\r\n', ExitCode: 1}
    const site = this.options.state.site(target.subscriptionId, target.resourceGroup, target.site)
    const privateAnswer = privateDnsOf(site?.tags)[host.toLowerCase().replace(/\.$/, '')]
    if (privateAnswer) {
      const out = [`Server: ${VNET_DNS_SERVER}`, '', 'Non-authoritative answer:', `Name: ${host}`, 'Addresses: ', ...privateAnswer.map((a) => `\t${a}`)]
      return {Output: out.join('\r\n') + '\r\n', Error: '', ExitCode: 0}
    }
    try {
      const addresses = await lookup(host, {all: true})
      const out = ['Server: 127.0.0.1', '', 'Non-authoritative answer:', `Name: ${host}`, 'Addresses: ', ...addresses.map((a) => `\t${a.address}`)]
      return {Output: out.join('\r\n') + '\r\n', Error: '', ExitCode: 0}
    } catch {
      return {Output: `Server: 127.0.0.1\r\n\r\n*** Can't find ${host}: No such host is known\r\n`, Error: '', ExitCode: 1}
    }
  }
}

/**
 * A VNet-integrated app's private DNS, stood in by a site tag (the emulator models no VNets):
 * `hcctl-emulator-private-dns` = `name=address[ address];name2=address`. nameresolver answers
 * those names from it first, as the VNet's DNS server (168.63.129.16) would.
 */
export const PRIVATE_DNS_TAG = 'hcctl-emulator-private-dns'
const VNET_DNS_SERVER = '168.63.129.16'

export function privateDnsOf(tags: Record<string, string> | undefined): Record<string, string[]> {
  const raw = Object.entries(tags ?? {}).find(([k]) => k.toLowerCase() === PRIVATE_DNS_TAG)?.[1]
  const out: Record<string, string[]> = {}
  for (const entry of (raw ?? '').split(';')) {
    const [name, addresses] = entry.split('=')
    const list = (addresses ?? '').split(/[\s,]+/).filter(Boolean)
    if (name && name.trim() && list.length > 0) out[name.trim().toLowerCase().replace(/\.$/, '')] = list
  }
  return out
}

function failureLine(error: unknown): string {
  const e = error as NodeJS.ErrnoException & {relayStatus?: number}
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'Connection attempt failed: No such host is known'
  if (e.code === 'ETIMEDOUT') return 'Connection timed out'
  if (e.code === 'ECONNREFUSED') return 'Connection attempt failed: No connection could be made because the target machine actively refused it'
  return `Connection attempt failed: ${(e.message ?? String(error)).split('\n')[0]}`
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({host, port})
    const timer = setTimeout(() => {
      socket.destroy()
      reject(Object.assign(new Error('Connection timed out'), {code: 'ETIMEDOUT'}))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.destroy()
      resolve()
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}
