import type {WebHybridConnection} from '../../hybrid/model.js'
import type {WebApi} from '../../hybrid/web.js'
import type {GatewaysResult} from '../gateways.js'
import {endpointService, endpointTlsName, endpointUnique} from './endpoint.js'
import {netGateways} from './gateways.js'
import {appNameResolution} from './resolution.js'
import type {CheckDefinition} from './types.js'

/** What the user asked for beyond the default checks (`--gateways`, `--stamp`, `--probe tls`). */
export interface ExtraCheckOptions {
  gateways?: {stamp?: string; deadlineMs?: number; concurrency?: number}
  endpointTls?: boolean
}

/**
 * Inserts the endpoint, name-resolution, gateway and TLS-name checks into one hybrid
 * connection's pipeline, each after the check it builds on: the endpoint checks after
 * `config.endpoint-host`, the gateways after `net.clock`, the TLS name after `roundtrip.probe`.
 * `net.gateways` and `endpoint.tls-name` only run when asked (they cost 256 probes / a tunnel).
 */
export function withExtraChecks<C>(base: Array<CheckDefinition<C>>, withApp: boolean, o: ExtraCheckOptions = {}): Array<CheckDefinition<C>> {
  const after: Record<string, Array<CheckDefinition<never>>> = {
    'config.endpoint-host': [endpointService, ...(withApp ? [endpointUnique, appNameResolution] : [])] as Array<CheckDefinition<never>>,
    'net.clock': (o.gateways ? [netGateways] : []) as Array<CheckDefinition<never>>,
    'roundtrip.probe': (o.endpointTls ? [endpointTlsName] : []) as Array<CheckDefinition<never>>,
  }
  const out: Array<CheckDefinition<C>> = []
  for (const def of base) {
    out.push(def)
    out.push(...((after[def.id] ?? []) as Array<CheckDefinition<C>>))
  }
  return out
}

/** The context fields the extra checks add (filled once per run by runCheck). */
export interface ExtraContext {
  endpointTls?: boolean
  gatewayProbe?: {stamp?: string; deadlineMs?: number; concurrency?: number; cache: Map<string, Promise<GatewaysResult>>}
  appRelays?: () => Promise<WebHybridConnection[]>
}

/** Builds the shared part of the extra checks' context: one gateway probe per namespace, one list of the app's relays. */
export function extraContext(o: ExtraCheckOptions, web: WebApi | undefined, app: Parameters<WebApi['listSiteRelays']>[0] | undefined): ExtraContext {
  let relays: Promise<WebHybridConnection[]> | undefined
  return {
    ...(o.endpointTls ? {endpointTls: true} : {}),
    ...(o.gateways ? {gatewayProbe: {...o.gateways, cache: new Map()}} : {}),
    ...(web && app ? {appRelays: () => (relays ??= web.listSiteRelays(app))} : {}),
  }
}
