import {once} from 'node:events'
import {type AddressInfo, createServer, type Server} from 'node:net'

import type {ResolverOverride} from '../lib/azure/clouds.js'

/**
 * The stand-in for a relay stamp's 256 gateways (`G0…G127-prod-{stamp}-sb{suffix}` and
 * `GV0…GV127-…`), answered through the cloud profile's resolver override: every namespace name
 * is an alias of `ns-sb2-prod-emu-001.cloudapp.localhost`, the stamp's gateways go to the
 * emulator's own TLS port (its certificate covers `*{suffix}`), except a few that a firewall
 * "blocks": some are reset on connect, one has no DNS answer. Stamp `emu-002` has every
 * gateway open (for `--stamp` and the all-reachable outcome).
 */
export const EMULATOR_STAMP = 'emu-001'
export const EMULATOR_OPEN_STAMP = 'emu-002'
/** Gateways of EMULATOR_STAMP whose connections are reset (a firewall that drops them). */
export const RESET_GATEWAYS = ['G7', 'GV100']
/** Gateways of EMULATOR_STAMP with no DNS answer (a DNS firewall). */
export const NXDOMAIN_GATEWAYS = ['G42']

export interface GatewayStandIn {
  resolver: ResolverOverride
  close(): Promise<void>
}

/** Starts the refusing listener and returns the resolver override for the profile. */
export async function startGatewayStandIn(options: {relaySuffix: string; port: number}): Promise<GatewayStandIn> {
  const refuser: Server = createServer((socket) => {
    socket.on('error', () => {})
    socket.resetAndDestroy()
  })
  refuser.listen(0, '127.0.0.1')
  await once(refuser, 'listening')
  const refusePort = (refuser.address() as AddressInfo).port
  const gw = (name: string, stamp: string) => `${name}-prod-${stamp}-sb${options.relaySuffix}`
  const address: Record<string, string | null> = {
    [`*-prod-${EMULATOR_STAMP}-sb${options.relaySuffix}`]: `127.0.0.1:${options.port}`,
    [`*-prod-${EMULATOR_OPEN_STAMP}-sb${options.relaySuffix}`]: `127.0.0.1:${options.port}`,
  }
  for (const g of RESET_GATEWAYS) address[gw(g, EMULATOR_STAMP)] = `127.0.0.1:${refusePort}`
  for (const g of NXDOMAIN_GATEWAYS) address[gw(g, EMULATOR_STAMP)] = null
  return {
    resolver: {cname: {[`*${options.relaySuffix}`]: `ns-sb2-prod-${EMULATOR_STAMP}.cloudapp.localhost`}, address},
    close: () => new Promise<void>((resolve) => refuser.close(() => resolve())),
  }
}
