import {mapLimit, type HybridContext} from './context.js'
import {resourceIdSegments, tryParseHybridConnectionId, tryParseServerfarmId, tryParseSiteId, type HybridConnectionRef} from '../azure/resource-id.js'
import {appRefOf, type AppRef, type PlanInfo, type WebHybridConnection} from './model.js'
import {relayKey} from './plan.js'
import type {WebApi} from './web.js'

/** One relay as used in one plan, with the apps (and slots) that use it. */
export interface RelayUsage {
  plan: {id: string; name: string; resourceGroup: string; tier?: string}
  namespace: string
  name: string
  relayArmUri?: string
  relay?: HybridConnectionRef
  hostname?: string
  port?: number
  sendKeyName?: string
  apps: AppRef[]
}

export interface UsageScan {
  plans: PlanInfo[]
  usages: RelayUsage[]
}

/** Namespace and name of a Web hybrid connection item, from its properties, id or relayArmUri. */
export function relayOf(item: WebHybridConnection): {namespace: string; name: string} | undefined {
  const p = item.properties ?? {}
  if (p.serviceBusNamespace && p.relayName) return {namespace: p.serviceBusNamespace, name: p.relayName}
  const s = resourceIdSegments(item.id ?? '')
  const ns = s.get('hybridconnectionnamespaces')
  const hc = s.get('relays')
  if (ns && hc) return {namespace: ns, name: hc}
  const r = p.relayArmUri ? tryParseHybridConnectionId(p.relayArmUri) : undefined
  return r ? {namespace: r.namespace, name: r.hybridConnection} : undefined
}

/**
 * Which apps use which relays, found per plan: the plans (given, or every plan of the
 * subscription in one paged request), each plan's `hybridConnectionRelays` once, and the
 * `.../sites` of each (plan, relay) pair that passes `want`. Requests grow with plans and
 * relays, never with apps; reads run in parallel with a bound.
 */
export async function scanUsages(
  ctx: HybridContext,
  web: WebApi,
  options: {plans?: PlanInfo[]; want?: (namespace: string, name: string) => boolean} = {},
): Promise<UsageScan> {
  const plans = options.plans ?? (await web.listPlans())
  const limit = ctx.concurrency ?? 8
  const perPlan = await mapLimit(plans, limit, async (plan) => ({plan, items: await web.listPlanRelays(plan.id)}))
  const usages: RelayUsage[] = []
  const needApps: RelayUsage[] = []
  for (const {plan, items} of perPlan) {
    const ref = tryParseServerfarmId(plan.id)
    const byKey = new Map<string, RelayUsage>()
    for (const item of items) {
      const relay = relayOf(item)
      if (!relay) continue
      if (options.want && !options.want(relay.namespace, relay.name)) continue
      const key = relayKey(relay.namespace, relay.name)
      let usage = byKey.get(key)
      const siteRef = resourceIdSegments(item.id ?? '').has('sites') ? tryParseSiteId(item.id) : undefined
      if (!usage) {
        const p = item.properties ?? {}
        usage = {
          plan: {id: plan.id, name: plan.name ?? ref?.plan ?? '', resourceGroup: ref?.resourceGroup ?? '', ...(plan.sku?.tier ? {tier: plan.sku.tier} : {})},
          namespace: relay.namespace,
          name: relay.name,
          ...(p.relayArmUri ? {relayArmUri: p.relayArmUri} : {}),
          ...(p.relayArmUri && tryParseHybridConnectionId(p.relayArmUri) ? {relay: tryParseHybridConnectionId(p.relayArmUri)} : {}),
          ...(p.hostname ? {hostname: p.hostname} : {}),
          ...(typeof p.port === 'number' ? {port: p.port} : {}),
          ...(p.sendKeyName ? {sendKeyName: p.sendKeyName} : {}),
          apps: [],
        }
        byKey.set(key, usage)
        usages.push(usage)
        if (!siteRef) needApps.push(usage)
      }
      if (siteRef) usage.apps.push(appRefOf(siteRef))
    }
  }
  await mapLimit(needApps, limit, async (usage) => {
    usage.apps = await web.listPlanRelayApps(usage.plan.id, usage.namespace, usage.name)
  })
  return {plans, usages}
}
