import {isIP, type Socket} from 'node:net'

import {parseReason} from '../../relay/protocol.js'

import {proxyFor, proxyTunnel, type ProxyTunnelError, type RelayTarget, relayDate, tlsHandshake, websocketUpgrade} from '../probes.js'
import {type Resolver, type ResolvedAddress, classifyError, systemResolver, tcpConnector} from '../tcpping.js'
import {round2} from '../stats.js'
import {type CheckDefinition, fail, pass, skip, warn} from './types.js'

/** What the network-from-here checks need. */
export interface NetworkContext {
  relayTarget: RelayTarget
  /** The hybrid connection used for the upgrade probes (any name works; the relay answers 401/404). */
  hybridConnection?: string
  /** Set when the cloud profile redirects relay traffic (the emulator's relayAddress). */
  redirected?: boolean
  /** Issuers expected on the relay's certificate when the system roots are used. */
  expectedIssuer?: RegExp
  env: NodeJS.ProcessEnv
  /** The local clock (the clock-skew knob replaces it). */
  now: () => number
  timeoutMs: number
  signal?: AbortSignal
  resolve?: Resolver
  /** Filled by net.dns for net.tcp. */
  net: {addresses?: ResolvedAddress[]}
}

/** Certificates of *.servicebus.windows.net and friends are issued by Microsoft or DigiCert CAs. */
export const PUBLIC_RELAY_ISSUER = /Microsoft|DigiCert/i
export const CLOCK_WARN_MS = 60_000
export const CLOCK_FAIL_MS = 300_000

const where = (c: NetworkContext) => `${c.relayTarget.connectHost}:${c.relayTarget.connectPort}`

export const netDns: CheckDefinition<NetworkContext> = {
  id: 'net.dns',
  title: 'DNS of the relay namespace',
  async run(c) {
    const name = c.redirected ? c.relayTarget.connectHost : c.relayTarget.host
    const note = c.redirected ? [`the cloud profile sends relay traffic for ${c.relayTarget.host} to ${where(c)} (relayAddress)`] : []
    if (isIP(name)) {
      c.net.addresses = [{address: name, family: isIP(name) as 4 | 6}]
      return pass([`${name} is an address; nothing to resolve`, ...note])
    }
    try {
      const addresses = await (c.resolve ?? systemResolver)(name, 0)
      if (addresses.length === 0) throw Object.assign(new Error(`${name} has no address`), {code: 'ENOTFOUND'})
      c.net.addresses = addresses
      return pass([`${name} -> ${addresses.map((a) => a.address).join(', ')}`, ...note], {addresses: addresses.map((a) => a.address)})
    } catch (error) {
      return fail(
        [`${name}: ${classifyError(error)} (${(error as Error).message})`, ...note],
        `This machine cannot resolve ${name}. Check its DNS servers (nslookup ${name}); behind a firewall, allow *${c.relayTarget.host.slice(c.relayTarget.host.indexOf('.'))} or the namespace and its gateway names (G0-G127, GV0-GV127).`,
      )
    }
  },
}

export const netTcp: CheckDefinition<NetworkContext> = {
  id: 'net.tcp',
  title: 'TCP to the relay (443)',
  dependsOn: ['net.dns'],
  async run(c) {
    const address = c.net.addresses![0]!
    try {
      const {timeMs} = await tcpConnector(address, c.relayTarget.connectPort, c.timeoutMs, c.signal)
      return pass(`${address.address}:${c.relayTarget.connectPort} connected in ${round2(timeMs)} ms`, {timeMs: round2(timeMs)})
    } catch (error) {
      return fail(
        `${address.address}:${c.relayTarget.connectPort}: ${classifyError(error)} (${(error as Error).message})`,
        `Outbound TCP ${c.relayTarget.connectPort} to the relay is blocked from this machine. Allow outbound 443 to *${c.relayTarget.host.slice(c.relayTarget.host.indexOf('.'))} (or the namespace and its gateways) in the firewall; if only a proxy may go out, set HTTPS_PROXY.`,
      )
    }
  },
}

export const netTls: CheckDefinition<NetworkContext> = {
  id: 'net.tls',
  title: 'TLS handshake with the relay',
  dependsOn: ['net.tcp'],
  async run(c) {
    let facts
    try {
      facts = await tlsHandshake(c.relayTarget, {timeoutMs: c.timeoutMs, signal: c.signal})
    } catch (error) {
      return fail(`TLS with ${c.relayTarget.host}: ${(error as Error).message}`, 'Something on the path ends TLS connections to the relay (a firewall or proxy that does not allow TLS to it). Allow TLS 1.2+ to the namespace.')
    }
    const evidence = [`subject ${facts.subject ?? '?'}`, `issuer ${facts.issuer ?? '?'}`, `${facts.protocol ?? 'TLS'}, valid to ${facts.validTo ?? '?'}`]
    const data = {subject: facts.subject, issuer: facts.issuer, protocol: facts.protocol, authorized: facts.authorized}
    if (!facts.authorized) {
      return fail(
        [...evidence, `not trusted: ${facts.authorizationError}`],
        c.relayTarget.ca
          ? `The certificate for ${c.relayTarget.host} is not from the cloud profile's CA: something between here and the relay presents its own certificate (possible TLS inspection). Exempt the namespace from TLS inspection, or check the profile's caPath.`
          : `The certificate for ${c.relayTarget.host} is not trusted: possible TLS inspection by a proxy or firewall. Exempt *.servicebus.windows.net from TLS inspection (the agent needs the relay's own certificate), or trust the inspecting CA with NODE_EXTRA_CA_CERTS if your policy requires inspection.`,
        data,
      )
    }
    if (!c.relayTarget.ca && c.expectedIssuer && !c.expectedIssuer.test(facts.issuer ?? '')) {
      return warn(
        [...evidence, 'issuer is not the one Azure Relay uses (Microsoft/DigiCert)'],
        `Possible TLS inspection: the certificate for ${c.relayTarget.host} is issued by ${facts.issuer}. Exempt the namespace from inspection; WebSocket connections through inspecting proxies often break.`,
        data,
      )
    }
    return pass(evidence, data)
  },
}

function upgradePath(c: NetworkContext): string {
  return `/$hc/${encodeURIComponent(c.hybridConnection ?? 'hcctl-probe')}?sb-hc-action=connect`
}

/** 101, or an answer from the relay itself (401 no token, 403, 404), shows WebSockets get through. */
function judgeUpgrade(status: number, statusMessage: string, via: string) {
  const reason = parseReason(statusMessage).message
  const answer = `${via}: HTTP ${status}${reason ? ` ${reason.slice(0, 160)}` : ''}`
  if (status === 101) return {ok: true, evidence: `${via}: upgrade accepted (101)`}
  if (status === 401 || status === 403 || status === 404) return {ok: true, evidence: `${answer} (the relay answered the upgrade; no token was sent)`}
  return {ok: false, evidence: answer}
}

export const netWebSocket: CheckDefinition<NetworkContext> = {
  id: 'net.websocket',
  title: 'WebSocket upgrade (direct)',
  dependsOn: ['net.tls'],
  async run(c) {
    try {
      const r = await websocketUpgrade(c.relayTarget, upgradePath(c), {timeoutMs: c.timeoutMs, signal: c.signal})
      const j = judgeUpgrade(r.status, r.statusMessage, 'direct')
      if (j.ok) return pass(j.evidence, {status: r.status, timeMs: r.timeMs})
      return fail(j.evidence, 'Something between here and the relay refuses WebSocket upgrades. Allow WebSockets (HTTP Upgrade) to the namespace on 443 in the firewall or proxy.', {status: r.status})
    } catch (error) {
      return fail(`direct: ${(error as Error).message}`, 'The WebSocket upgrade to the relay did not complete; allow WebSockets (HTTP Upgrade) to the namespace on 443.')
    }
  },
}

export const netWebSocketProxy: CheckDefinition<NetworkContext> = {
  id: 'net.websocket-proxy',
  title: 'WebSocket upgrade (HTTPS_PROXY)',
  async run(c) {
    const proxy = proxyFor(c.relayTarget.host, c.env)
    if (!proxy) return skip('no HTTPS_PROXY applies to the namespace (unset or NO_PROXY)')
    let shown = proxy
    try {
      const u = new URL(proxy)
      shown = `${u.protocol}//${u.host}`
    } catch {
      return fail(`HTTPS_PROXY is not a URL`, 'Set HTTPS_PROXY to a URL such as http://proxy.corp:3128.')
    }
    let tunnel: Socket | undefined
    try {
      tunnel = await proxyTunnel(proxy, c.relayTarget, {timeoutMs: c.timeoutMs, signal: c.signal})
      const r = await websocketUpgrade(c.relayTarget, upgradePath(c), {timeoutMs: c.timeoutMs, signal: c.signal, tunnel})
      const j = judgeUpgrade(r.status, r.statusMessage, `via ${shown}`)
      if (j.ok) return pass(j.evidence, {proxy: shown, status: r.status})
      return fail(
        j.evidence,
        r.status === 407
          ? `The proxy ${shown} wants authentication; put the credentials in HTTPS_PROXY (http://user:password@host:port) or exempt the namespace.`
          : `The proxy ${shown} does not pass WebSocket upgrades to the relay. Allow CONNECT to the namespace on 443 and WebSocket upgrades, or exempt it with NO_PROXY where a direct path exists.`,
        {proxy: shown, status: r.status},
      )
    } catch (error) {
      const message = (error as Error).message
      const status = (error as ProxyTunnelError).status
      return fail(
        `via ${shown}: ${message}`,
        status === 407
          ? `The proxy ${shown} wants authentication; put the credentials in HTTPS_PROXY (http://user:password@host:port) or exempt the namespace.`
          : `The proxy ${shown} refused or dropped the tunnel to ${c.relayTarget.host}:443 (CONNECT). Allow CONNECT to the namespace on 443, or exempt it with NO_PROXY where a direct path exists.`,
        {proxy: shown},
      )
    } finally {
      tunnel?.destroy()
    }
  },
}

export const netClock: CheckDefinition<NetworkContext> = {
  id: 'net.clock',
  title: 'Clock against the relay',
  dependsOn: ['net.tls'],
  async run(c) {
    const r = await relayDate(c.relayTarget, {timeoutMs: c.timeoutMs, signal: c.signal, now: c.now})
    const seconds = Math.round(r.skewMs / 1000)
    const text = Math.abs(r.skewMs) < 1000 ? 'in step with the relay (within 1 s)' : `${Math.abs(seconds)} s ${seconds > 0 ? 'ahead of' : 'behind'} the relay`
    const evidence = [`this machine is ${text}`, `relay Date ${new Date(r.serverMs).toUTCString()}`]
    const data = {skewSeconds: seconds}
    const remedy = `Synchronise this machine's clock (Linux: timedatectl set-ntp true; Windows: w32tm /resync). SAS tokens carry an expiry computed from the local clock, so a clock minutes off makes the relay refuse hcctl's and the agent's tokens.`
    if (Math.abs(r.skewMs) > CLOCK_FAIL_MS) return fail(evidence, remedy, data)
    if (Math.abs(r.skewMs) > CLOCK_WARN_MS) return warn(evidence, remedy, data)
    return pass(evidence, data)
  },
}

/** The network-from-here checks, in order. */
export const NETWORK_CHECKS: Array<CheckDefinition<NetworkContext>> = [netDns, netTcp, netTls, netWebSocket, netWebSocketProxy, netClock]
