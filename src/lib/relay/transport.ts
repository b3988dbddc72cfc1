import type {ClientRequestArgs} from 'node:http'
import {connect as netConnect, isIP, type Socket} from 'node:net'
import {connect as tlsConnect, type ConnectionOptions, createSecureContext, type SecureContext} from 'node:tls'

import type {CloudProfile} from '../azure/clouds.js'
import type {ProxyOptions} from '../azure/transport.js'

/**
 * How relay traffic leaves this process: which CA to trust and where to dial. Derived from the
 * cloud profile so that nothing else names an address: on a public cloud this is empty (system
 * CAs, DNS); on the emulator it carries the emulator's CA and `relayAddress`, the address to
 * dial instead of DNS while Host and SNI stay `{ns}{relaySuffix}`.
 */
export interface RelayTransport {
  /** PEM CA bundle trusted for relay connections (else the system roots). */
  ca?: string
  /** Dial this host:port for every host under `relaySuffix` (Host and SNI unchanged). */
  relayAddress?: {host: string; port: number}
  /** e.g. `.servicebus.windows.net`; hosts under it are relay hosts. */
  relaySuffix?: string
  /** Where to look up HTTPS_PROXY/NO_PROXY; absent when the environment names no proxy. */
  proxy?: ProxyOptions
}

/**
 * The transport for a cloud profile, with the proxy settings of `env`: HTTPS_PROXY (or
 * ALL_PROXY) and NO_PROXY, loopback targets (the emulator) direct unless
 * HCCTL_PROXY_LOOPBACK=1, as for ARM calls.
 */
export function transportFromCloud(cloud: CloudProfile | undefined, env: NodeJS.ProcessEnv = process.env): RelayTransport {
  const out: RelayTransport = cloud ? {ca: cloud.ca, relayAddress: cloud.relayAddress, relaySuffix: cloud.relaySuffix} : {}
  if (PROXY_VARIABLES.some((k) => env[k])) out.proxy = {env, loopback: env.HCCTL_PROXY_LOOPBACK === '1' || env.HCCTL_PROXY_LOOPBACK === 'true'}
  return out
}

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'npm_config_https_proxy']

/** True when `host` should be dialled at `relayAddress` instead of through DNS. */
export function isRedirected(transport: RelayTransport, host: string): boolean {
  if (!transport.relayAddress || !transport.relaySuffix) return false
  const h = host.toLowerCase()
  const suffix = transport.relaySuffix.toLowerCase()
  return h.endsWith(suffix) || h === suffix.replace(/^\./, '')
}

/**
 * Options for `new WebSocket(url, options)` (ws passes them on to https.request) and for our
 * raw handshake: the CA, and a `createConnection` that dials `relayAddress` for relay hosts
 * (keeping SNI) and goes through the HTTPS_PROXY the environment names for the host (a CONNECT
 * tunnel with TLS inside, NO_PROXY honoured).
 */
export function wsClientOptions(transport: RelayTransport, url: string): WsClientExtras {
  // A zero masking key: ws then skips masking on send and the peer skips unmasking, which
  // roughly doubles throughput. Masking protects browser-era HTTP caches from script-chosen
  // bytes; it adds nothing over TLS between non-browser peers (ws offers generateMask for this).
  const out: WsClientExtras = {generateMask: zeroMask}
  if (transport.ca) out.ca = transport.ca
  // Always our own dial, also where ws could dial itself: it shares one TLS context per CA
  // bundle and turns Nagle off (see dial).
  out.createConnection = relayConnection(transport, url)
  return out
}

/**
 * A `createConnection` for requests to `url`: dials `relayAddress` instead of DNS for relay
 * hosts, goes through the proxy the environment names (a CONNECT tunnel), or dials the host
 * directly; TLS keeps the host name as SNI and trusts the transport's CA.
 */
export function relayConnection(transport: RelayTransport, url: string): ClientRequestArgs['createConnection'] {
  const u = new URL(url)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  const secure = u.protocol === 'wss:' || u.protocol === 'https:'
  const target = isRedirected(transport, host) ? transport.relayAddress! : {host, port: Number(u.port) || (secure ? 443 : 80)}
  return ((options: ConnectionOptions & {host?: string}, oncreate: (error: Error | null, socket?: Socket) => void) => {
    if (!transport.proxy) return dial(options, target, host, secure, transport.ca)
    connectViaProxy(options, target, host, secure, transport).then(
      (socket) => oncreate(null, socket),
      (error: Error) => oncreate(error),
    )
    return undefined
  }) as ClientRequestArgs['createConnection']
}

/** Dials `target` directly, or through a CONNECT tunnel when a proxy applies to it. */
async function connectViaProxy(options: ConnectionOptions & {host?: string}, target: {host: string; port: number}, originalHost: string, secure: boolean, transport: RelayTransport): Promise<Socket> {
  const {isLoopbackHost, openConnectTunnel, proxyForHost} = await import('../azure/transport.js')
  const proxy = transport.proxy!
  // NO_PROXY is matched against the relay's name (as curl matches the URL's host); a loopback
  // dial address (the emulator) is direct unless HCCTL_PROXY_LOOPBACK=1.
  const proxyUrl = !proxy.loopback && isLoopbackHost(target.host) ? undefined : proxyForHost(originalHost, proxy.env ?? process.env)
  if (!proxyUrl) return dial(options, target, originalHost, secure, transport.ca)
  const tunnel = await openConnectTunnel(proxyUrl, target.host, target.port, {timeoutMs: PROXY_CONNECT_TIMEOUT_MS})
  if (!secure) return tunnel
  return tlsConnect(tlsOptions({...options, socket: tunnel, servername: isIP(originalHost) ? undefined : originalHost}, transport.ca))
}

/** How long a proxy may take to answer CONNECT. */
const PROXY_CONNECT_TIMEOUT_MS = 30_000

type WsClientExtras = Pick<ClientRequestArgs, 'createConnection'> & {ca?: string; generateMask?: (mask: Buffer) => void}

function zeroMask(mask: Buffer): void {
  mask.fill(0)
}

/** Request options for plain HTTPS calls to a relay host (the runtime management GET). */
export function httpsRequestOptions(transport: RelayTransport, url: string): {ca?: string; createConnection?: ClientRequestArgs['createConnection']} {
  const {generateMask: _unused, ...rest} = wsClientOptions(transport, url)
  return rest
}

function dial(options: ConnectionOptions & {host?: string}, address: {host: string; port: number}, originalHost: string, secure: boolean, ca?: string): Socket {
  if (!secure) return netConnect({host: address.host, port: address.port, noDelay: true})
  const socket = tlsConnect(tlsOptions({...options, host: address.host, port: address.port, servername: isIP(originalHost) ? undefined : originalHost}, ca))
  // Tunnels carry interactive traffic: no Nagle delay on the relay leg (ws sets it for its own sockets).
  socket.setNoDelay(true)
  return socket
}

/**
 * TLS options with one shared SecureContext per CA bundle instead of the context that
 * tls.connect builds for each connection from `ca`: each of those parses the bundle into a
 * certificate store of its own, which cost ~17 KiB of native memory and a PEM parse per tunnel
 * (bench/tunnel.mjs). Options that shape a context (a client certificate, ciphers, versions)
 * keep the per-connection context.
 */
function tlsOptions(options: ConnectionOptions, ca: string | undefined): ConnectionOptions {
  const bundle = ca ?? (typeof options.ca === 'string' ? options.ca : options.ca === undefined ? '' : undefined)
  if (bundle === undefined || CONTEXT_OPTIONS.some((k) => options[k] !== undefined)) return {...options, ...(ca ? {ca} : {})}
  let context = sharedContexts.get(bundle)
  if (!context) {
    context = createSecureContext(bundle ? {ca: bundle} : {})
    sharedContexts.set(bundle, context)
  }
  const {ca: _ca, ...rest} = options
  return {...rest, secureContext: context}
}

/** Context-level TLS options: any of them means a connection needs a context of its own. */
const CONTEXT_OPTIONS = ['secureContext', 'key', 'cert', 'pfx', 'passphrase', 'ciphers', 'minVersion', 'maxVersion', 'secureProtocol', 'secureOptions', 'ecdhCurve', 'crl', 'dhparam', 'sigalgs', 'privateKeyEngine', 'privateKeyIdentifier', 'clientCertEngine'] as const

/** One SecureContext per CA bundle ('' = the system roots), for the life of the process. */
const sharedContexts = new Map<string, SecureContext>()
