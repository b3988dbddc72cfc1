import type {ClientRequestArgs} from 'node:http'
import {connect as netConnect, isIP, type Socket} from 'node:net'
import {connect as tlsConnect, type ConnectionOptions} from 'node:tls'

import type {CloudProfile} from '../azure/clouds.js'

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
}

export function transportFromCloud(cloud: CloudProfile | undefined): RelayTransport {
  if (!cloud) return {}
  return {ca: cloud.ca, relayAddress: cloud.relayAddress, relaySuffix: cloud.relaySuffix}
}

/** True when `host` should be dialled at `relayAddress` instead of through DNS. */
export function isRedirected(transport: RelayTransport, host: string): boolean {
  if (!transport.relayAddress || !transport.relaySuffix) return false
  const h = host.toLowerCase()
  const suffix = transport.relaySuffix.toLowerCase()
  return h.endsWith(suffix) || h === suffix.replace(/^\./, '')
}

/**
 * Options for `new WebSocket(url, options)` (ws passes them on to https.request): the CA,
 * and a `createConnection` that dials `relayAddress` for relay hosts, keeping SNI.
 */
export function wsClientOptions(transport: RelayTransport, url: string): WsClientExtras {
  const host = new URL(url).hostname
  // A zero masking key: ws then skips masking on send and the peer skips unmasking, which
  // roughly doubles throughput. Masking protects browser-era HTTP caches from script-chosen
  // bytes; it adds nothing over TLS between non-browser peers (ws offers generateMask for this).
  const out: WsClientExtras = {generateMask: zeroMask}
  if (transport.ca) out.ca = transport.ca
  if (isRedirected(transport, host)) {
    const address = transport.relayAddress!
    const secure = url.startsWith('wss:') || url.startsWith('https:')
    out.createConnection = ((options: ConnectionOptions & {host?: string}) => dial(options, address, host, secure, transport.ca)) as ClientRequestArgs['createConnection']
  }
  return out
}

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
  if (!secure) return netConnect({host: address.host, port: address.port})
  return tlsConnect({
    ...options,
    host: address.host,
    port: address.port,
    servername: isIP(originalHost) ? undefined : originalHost,
    ...(ca ? {ca} : {}),
  })
}
