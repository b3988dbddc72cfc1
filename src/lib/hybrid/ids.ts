import {authorizationRuleId, hybridConnectionId, relayNamespaceId, serverfarmId, siteId, webHybridConnectionId} from '../azure/resource-id.js'
import {UsageError} from '../errors.js'
import type {AppRef} from './model.js'

/**
 * ARM ids as lib/hybrid needs them: parsed by key/value segment pairs, case-insensitively
 * (ids come back with drifting casing, arm-surface.md §1).
 */
export function idSegments(id: string): Map<string, string> {
  const parts = id.split('/').filter(Boolean)
  const out = new Map<string, string>()
  // providers/Microsoft.X is a key/value pair too; after it, pairs continue.
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const key = parts[i]!.toLowerCase()
    if (!out.has(key)) out.set(key, safeDecode(parts[i + 1]!))
  }
  return out
}

export interface RelayRef {
  subscriptionId: string
  resourceGroup: string
  namespace: string
  name: string
}

export function parseRelayId(id: string): RelayRef | undefined {
  const s = idSegments(id)
  const sub = s.get('subscriptions')
  const rg = s.get('resourcegroups')
  const ns = s.get('namespaces')
  const hc = s.get('hybridconnections')
  if (!sub || !rg || !ns || !hc) return undefined
  return {subscriptionId: sub, resourceGroup: rg, namespace: ns, name: hc}
}

export interface PlanRef {
  subscriptionId: string
  resourceGroup: string
  plan: string
}

export function parsePlanId(id: string): PlanRef | undefined {
  const s = idSegments(id)
  const sub = s.get('subscriptions')
  const rg = s.get('resourcegroups')
  const plan = s.get('serverfarms')
  if (!sub || !rg || !plan) return undefined
  return {subscriptionId: sub, resourceGroup: rg, plan}
}

/** A site or slot id (or anything below one). */
export function parseAppId(id: string): (AppRef & {subscriptionId: string}) | undefined {
  const s = idSegments(id)
  const sub = s.get('subscriptions')
  const rg = s.get('resourcegroups')
  const app = s.get('sites')
  if (!sub || !rg || !app) return undefined
  const slot = s.get('slots')
  return {subscriptionId: sub, resourceGroup: rg, app, ...(slot ? {slot} : {})}
}

// The builders are lib/azure/resource-id.ts's formatters under the argument order the
// use-cases call them with: one way to write an id (and one check of the names in it).

export function relayNamespacePath(sub: string, rg: string, ns: string): string {
  return relayNamespaceId({subscriptionId: sub, resourceGroup: rg, namespace: ns})
}

export function relayPath(sub: string, rg: string, ns: string, hc: string): string {
  return hybridConnectionId({subscriptionId: sub, resourceGroup: rg, namespace: ns, hybridConnection: hc})
}

export function rulePath(sub: string, rg: string, ns: string, hc: string, rule: string): string {
  return authorizationRuleId({subscriptionId: sub, resourceGroup: rg, namespace: ns, hybridConnection: hc, rule})
}

export function sitePath(sub: string, app: AppRef): string {
  return siteId({subscriptionId: sub, resourceGroup: app.resourceGroup, site: app.app, ...(app.slot ? {slot: app.slot} : {})})
}

export function siteRelayPath(sub: string, app: AppRef, ns: string, hc: string): string {
  return webHybridConnectionId({subscriptionId: sub, resourceGroup: app.resourceGroup, site: app.app, ...(app.slot ? {slot: app.slot} : {}), namespace: ns, relay: hc})
}

export function planPath(sub: string, rg: string, plan: string): string {
  return serverfarmId({subscriptionId: sub, resourceGroup: rg, plan})
}

export function planIdPath(planId: string): string {
  const p = parsePlanId(planId)
  if (!p) throw new UsageError(`"${planId}" is not an App Service plan id.`, {code: 'InvalidResourceId'})
  return planPath(p.subscriptionId, p.resourceGroup, p.plan)
}

/** decodeURIComponent that keeps a malformed escape (`%`, `%zz`) as written instead of throwing. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
