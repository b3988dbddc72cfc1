import {readFileSync} from 'node:fs'

import {type RelayRight} from './contracts.js'
import {armTime, DEFAULT_LOCATION, eq, type NamespaceRec, newRule, type PlanRec, planId, type SiteRec, type StateStore} from './state.js'
import {resolveSku} from './arm/skus.js'

/**
 * Seeds: subscriptions, resource groups, plans, apps (with slots), Relay namespaces and hybrid
 * connections, and optionally attachments of connections to apps. Applying a seed is idempotent:
 * what exists is kept as it is. `demo` is built in.
 *
 * {
 *   "subscriptions": [{"subscriptionId": "…", "displayName": "…"}],      // the first is the default
 *   "resourceGroups": [{"name": "rg", "location": "westeurope", "subscriptionId": "…"}],
 *   "plans": [{"resourceGroup": "rg", "name": "plan", "sku": "S1", "kind": "app"}],
 *   "sites": [{"resourceGroup": "rg", "name": "app", "plan": "plan", "kind": "app", "slots": ["staging"]}],
 *   "namespaces": [{"resourceGroup": "rg", "name": "contoso-relay", "hybridConnections": [
 *       {"name": "db", "endpoint": "db.internal:5432", "rules": [{"name": "defaultListener", "rights": ["Listen"]}]}]}],
 *   "attachments": [{"resourceGroup": "rg", "site": "app", "namespace": "contoso-relay", "hybridConnection": "db", "sendKeyName": "defaultSender"}]
 * }
 */

export interface SeedFile {
  subscriptions?: Array<{subscriptionId: string; displayName?: string}>
  resourceGroups?: Array<{name: string; location?: string; subscriptionId?: string; tags?: Record<string, string>}>
  plans?: Array<{resourceGroup: string; name: string; sku?: string; tier?: string; kind?: string; location?: string; subscriptionId?: string; reserved?: boolean}>
  sites?: Array<{resourceGroup: string; name: string; plan: string; planResourceGroup?: string; kind?: string; location?: string; subscriptionId?: string; slots?: string[]}>
  namespaces?: Array<{
    resourceGroup: string
    name: string
    location?: string
    subscriptionId?: string
    hybridConnections?: Array<{
      name: string
      endpoint?: string
      userMetadata?: string
      requiresClientAuthorization?: boolean
      /** Rules on the connection; `defaultRules: true` adds defaultListener (Listen) and defaultSender (Send). */
      rules?: Array<{name: string; rights: RelayRight[]}>
      defaultRules?: boolean
    }>
  }>
  attachments?: Array<{resourceGroup: string; site: string; slot?: string; namespace: string; hybridConnection: string; sendKeyName?: string; subscriptionId?: string}>
}

export const DEMO_SEED: SeedFile = {
  resourceGroups: [{name: 'hcctl-demo', location: DEFAULT_LOCATION}],
  plans: [{resourceGroup: 'hcctl-demo', name: 'demo-plan', sku: 'S1'}],
  sites: [{resourceGroup: 'hcctl-demo', name: 'demo-app', plan: 'demo-plan', kind: 'app'}],
  namespaces: [
    {
      resourceGroup: 'hcctl-demo',
      name: 'demo-relay',
      hybridConnections: [{name: 'demo-hc', endpoint: 'localhost:8080', defaultRules: true}],
    },
  ],
}

export class SeedError extends Error {
  override name = 'SeedError'
}

export function loadSeed(source: string): SeedFile {
  if (source === 'demo') return DEMO_SEED
  let text: string
  try {
    text = readFileSync(source, 'utf8')
  } catch (error) {
    throw new SeedError(`Cannot read the seed file ${source}: ${(error as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new SeedError(`The seed file ${source} is not valid JSON: ${(error as Error).message}`)
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SeedError(`The seed file ${source} must hold a JSON object.`)
  return parsed as SeedFile
}

function need(value: unknown, what: string): string {
  if (typeof value !== 'string' || !value) throw new SeedError(`The seed needs ${what} (a non-empty string).`)
  return value
}

/** Applies a seed to the state (idempotent); returns how many things it created. */
export function applySeed(state: StateStore, seed: SeedFile, relaySuffix: string): number {
  const data = state.data
  let created = 0
  for (const s of seed.subscriptions ?? []) {
    const id = need(s.subscriptionId, 'subscriptions[].subscriptionId')
    if (!state.subscription(id)) {
      data.subscriptions.push({subscriptionId: id, displayName: s.displayName ?? id})
      created++
    }
  }
  const subOf = (id: string | undefined) => {
    const sub = id ?? state.defaultSubscriptionId
    if (!state.subscription(sub)) throw new SeedError(`The seed names subscription ${sub}, which it does not create.`)
    return state.subscription(sub)!.subscriptionId
  }
  const rgOf = (sub: string, name: string) => {
    const rg = state.resourceGroup(sub, name)
    if (!rg) throw new SeedError(`The seed uses resource group "${name}" without creating it under resourceGroups.`)
    return rg
  }
  for (const g of seed.resourceGroups ?? []) {
    const sub = subOf(g.subscriptionId)
    const name = need(g.name, 'resourceGroups[].name')
    if (!state.resourceGroup(sub, name)) {
      data.resourceGroups.push({subscriptionId: sub, name, location: g.location ?? DEFAULT_LOCATION, ...(g.tags ? {tags: g.tags} : {})})
      created++
    }
  }
  for (const p of seed.plans ?? []) {
    const sub = subOf(p.subscriptionId)
    const rg = rgOf(sub, need(p.resourceGroup, 'plans[].resourceGroup'))
    const name = need(p.name, 'plans[].name')
    if (state.plan(sub, rg.name, name)) continue
    const sku = resolveSku({name: p.sku, tier: p.tier})
    if (!sku) throw new SeedError(`Plan "${name}": unknown sku "${p.sku ?? p.tier}" (use e.g. F1, B1, S1, P1v3, I1v2, Y1).`)
    const plan: PlanRec = {subscriptionId: sub, resourceGroup: rg.name, name, location: p.location ?? rg.location, kind: p.kind ?? (p.reserved ? 'linux' : 'app'), sku, reserved: p.reserved === true, pendingPolls: 0, createdAt: armTime()}
    data.plans.push(plan)
    created++
  }
  for (const s of seed.sites ?? []) {
    const sub = subOf(s.subscriptionId)
    const rg = rgOf(sub, need(s.resourceGroup, 'sites[].resourceGroup'))
    const name = need(s.name, 'sites[].name')
    let site = state.site(sub, rg.name, name)
    if (!site) {
      const plan = state.plan(sub, s.planResourceGroup ?? rg.name, need(s.plan, 'sites[].plan'))
      if (!plan) throw new SeedError(`Site "${name}": plan "${s.plan}" is not in the seed.`)
      const fresh: SiteRec = {subscriptionId: sub, resourceGroup: rg.name, name, location: s.location ?? plan.location, kind: s.kind ?? (plan.reserved ? 'app,linux' : 'app'), serverFarmId: planId(plan), createdAt: armTime(), hybridConnections: [], slots: []}
      data.sites.push(fresh)
      site = fresh
      created++
    }
    for (const slotName of s.slots ?? []) {
      if (!site.slots.some((x) => eq(x.name, slotName))) {
        site.slots.push({name: slotName, kind: site.kind, createdAt: armTime(), hybridConnections: []})
        created++
      }
    }
  }
  for (const n of seed.namespaces ?? []) {
    const sub = subOf(n.subscriptionId)
    const rg = rgOf(sub, need(n.resourceGroup, 'namespaces[].resourceGroup'))
    const name = need(n.name, 'namespaces[].name')
    let ns = state.namespace(sub, rg.name, name)
    if (!ns) {
      if (state.namespaceAnywhere(name)) throw new SeedError(`Namespace "${name}" exists in another resource group (names are global).`)
      const now = armTime()
      const fresh: NamespaceRec = {subscriptionId: sub, resourceGroup: rg.name, name, location: n.location ?? rg.location, createdAt: now, updatedAt: now, pendingPolls: 0, rules: [newRule('RootManageSharedAccessKey', ['Listen', 'Manage', 'Send'])], hybridConnections: []}
      data.namespaces.push(fresh)
      ns = fresh
      created++
    }
    for (const h of n.hybridConnections ?? []) {
      const hcName = need(h.name, 'hybridConnections[].name')
      if (ns.hybridConnections.some((x) => eq(x.name, hcName))) continue
      const now = armTime()
      const userMetadata = h.userMetadata ?? (h.endpoint ? JSON.stringify([{key: 'endpoint', value: h.endpoint}]) : undefined)
      const rules = (h.rules ?? []).map((r) => newRule(need(r.name, 'rules[].name'), r.rights))
      if (h.defaultRules) {
        if (!rules.some((r) => eq(r.name, 'defaultListener'))) rules.push(newRule('defaultListener', ['Listen']))
        if (!rules.some((r) => eq(r.name, 'defaultSender'))) rules.push(newRule('defaultSender', ['Send']))
      }
      ns.hybridConnections.push({name: hcName, requiresClientAuthorization: h.requiresClientAuthorization ?? true, ...(userMetadata !== undefined ? {userMetadata} : {}), createdAt: now, updatedAt: now, rules})
      created++
    }
  }
  for (const a of seed.attachments ?? []) {
    const sub = subOf(a.subscriptionId)
    const site = state.site(sub, need(a.resourceGroup, 'attachments[].resourceGroup'), need(a.site, 'attachments[].site'))
    if (!site) throw new SeedError(`Attachment: site "${a.site}" is not in the seed.`)
    const ns = state.namespaceAnywhere(need(a.namespace, 'attachments[].namespace'))
    const hc = ns?.hybridConnections.find((h) => eq(h.name, a.hybridConnection))
    if (!ns || !hc) throw new SeedError(`Attachment: hybrid connection "${a.namespace}/${a.hybridConnection}" is not in the seed.`)
    const target = a.slot ? site.slots.find((s) => eq(s.name, a.slot)) : site
    if (!target) throw new SeedError(`Attachment: slot "${a.slot}" of "${a.site}" is not in the seed.`)
    if (target.hybridConnections.some((x) => eq(x.serviceBusNamespace, ns.name) && eq(x.relayName, hc.name))) continue
    const keyName = a.sendKeyName ?? 'defaultSender'
    let rule = hc.rules.find((r) => eq(r.name, keyName)) ?? ns.rules.find((r) => eq(r.name, keyName))
    if (!rule) {
      rule = newRule(keyName, ['Send'])
      hc.rules.push(rule)
    }
    const endpoint = endpointOf(hc.userMetadata)
    if (!endpoint) throw new SeedError(`Attachment: "${ns.name}/${hc.name}" has no endpoint metadata (host:port).`)
    target.hybridConnections.push({
      serviceBusNamespace: ns.name,
      relayName: hc.name,
      relayArmUri: `/subscriptions/${ns.subscriptionId}/resourceGroups/${ns.resourceGroup}/providers/Microsoft.Relay/namespaces/${ns.name}/hybridConnections/${hc.name}`,
      hostname: endpoint.host,
      port: endpoint.port,
      sendKeyName: rule.name,
      sendKeyValue: rule.primaryKey,
      serviceBusSuffix: relaySuffix,
    })
    created++
  }
  return created
}

/** The `endpoint` item of App Service metadata (`[{"key":"endpoint","value":"host:port"}]`). */
export function endpointOf(userMetadata: string | undefined): {host: string; port: number} | undefined {
  if (!userMetadata) return undefined
  try {
    const items = JSON.parse(userMetadata) as Array<{key?: unknown; value?: unknown}>
    const item = Array.isArray(items) ? items.find((i) => typeof i?.key === 'string' && i.key.toLowerCase() === 'endpoint') : undefined
    const m = typeof item?.value === 'string' ? /^(.+):(\d{1,5})$/.exec(item.value.trim()) : null
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return undefined
    return {host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2])}
  } catch {
    return undefined
  }
}
