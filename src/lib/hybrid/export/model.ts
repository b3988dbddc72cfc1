import {API_VERSIONS} from '../../azure/api-versions.js'
import {relayNamespaceId, tryParseHybridConnectionId} from '../../azure/resource-id.js'
import {NotFoundError} from '../../errors.js'
import {type HybridContext, doing} from '../context.js'
import type {AppRef, Right} from '../model.js'
import {validateAppName, validateResourceGroupName, validateSlotName} from '../naming.js'
import {relayOf} from '../usages.js'
import {WebApi} from '../web.js'

/**
 * What `hcctl export` writes, independent of the template language: the Relay namespaces, hybrid
 * connections and rules an app's hybrid connections use, and the app's
 * `hybridConnectionNamespaces/relays` resources, in dependency order. Keys are never read:
 * every form takes the app's send key from `listKeys()` at deployment time.
 */
export const RELAY_API = API_VERSIONS['microsoft.relay']!
export const WEB_API = API_VERSIONS['microsoft.web']!

export interface ExportNamespace {
  name: string
  location: string
}

export interface ExportHybridConnection {
  namespace: string
  name: string
  requiresClientAuthorization: boolean
  /** The exact JSON text of userMetadata (a string inside every template). */
  userMetadata?: string
}

export interface ExportRule {
  namespace: string
  /** Absent for a namespace-level rule. */
  hybridConnection?: string
  name: string
  rights: Right[]
}

export interface ExportAppRelay {
  namespace: string
  name: string
  hostname: string
  port: number
  sendKeyName: string
  /** Where the send key's rule lives: on the hybrid connection, or on the namespace. */
  keyScope: 'hybridConnection' | 'namespace'
  serviceBusSuffix: string
}

export interface ExportPlan {
  app: AppRef
  namespaces: ExportNamespace[]
  hybridConnections: ExportHybridConnection[]
  rules: ExportRule[]
  relays: ExportAppRelay[]
  /** Hybrid connections left out, and why. */
  warnings: string[]
}

/**
 * One resource of the plan, as every form names it (the tests compare the forms with this).
 * Dependencies are written `{type}/{name}`.
 */
export interface ExportResourceSummary {
  type: string
  /** The ARM name, `/`-separated (the app's name is the `appName` parameter). */
  name: string
  dependsOn: string[]
}

/** Types and names of the plan's resources with their dependencies, in order. */
export function summarize(plan: ExportPlan): ExportResourceSummary[] {
  const app = plan.app.slot ? `${plan.app.app}/${plan.app.slot}` : plan.app.app
  const webType = plan.app.slot ? 'Microsoft.Web/sites/slots/hybridConnectionNamespaces/relays' : 'Microsoft.Web/sites/hybridConnectionNamespaces/relays'
  return [
    ...plan.namespaces.map((n) => ({type: 'Microsoft.Relay/namespaces', name: n.name, dependsOn: []})),
    ...plan.hybridConnections.map((h) => ({type: 'Microsoft.Relay/namespaces/hybridConnections', name: `${h.namespace}/${h.name}`, dependsOn: [`Microsoft.Relay/namespaces/${h.namespace}`]})),
    ...plan.rules.map((r) =>
      r.hybridConnection
        ? {type: 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules', name: `${r.namespace}/${r.hybridConnection}/${r.name}`, dependsOn: [`Microsoft.Relay/namespaces/hybridConnections/${r.namespace}/${r.hybridConnection}`]}
        : {type: 'Microsoft.Relay/namespaces/authorizationRules', name: `${r.namespace}/${r.name}`, dependsOn: [`Microsoft.Relay/namespaces/${r.namespace}`]},
    ),
    ...plan.relays.map((r) => ({
      type: webType,
      name: `${app}/${r.namespace}/${r.name}`,
      dependsOn: [`Microsoft.Relay/namespaces/hybridConnections/${r.namespace}/${r.name}`, ...(ruleExported(plan, r) ? [ruleKey(r)] : [])],
    })),
  ]
}

export function ruleKey(r: ExportAppRelay): string {
  return r.keyScope === 'hybridConnection'
    ? `Microsoft.Relay/namespaces/hybridConnections/authorizationRules/${r.namespace}/${r.name}/${r.sendKeyName}`
    : `Microsoft.Relay/namespaces/authorizationRules/${r.namespace}/${r.sendKeyName}`
}

/** Whether the send key's rule is a resource of the plan (RootManageSharedAccessKey exists on every namespace). */
export function ruleExported(plan: ExportPlan, r: ExportAppRelay): boolean {
  return plan.rules.some((x) => x.namespace === r.namespace && x.name === r.sendKeyName && (x.hybridConnection ?? '') === (r.keyScope === 'hybridConnection' ? r.name : ''))
}

const ROOT_RULE = 'RootManageSharedAccessKey'

/** Reads what is attached to the app today (ARM reads only; no key is listed). */
export async function readExportPlan(ctx: HybridContext, app: AppRef): Promise<ExportPlan> {
  validateResourceGroupName(app.resourceGroup)
  validateAppName(app.app)
  if (app.slot) validateSlotName(app.slot)
  const web = new WebApi(ctx.arm, ctx.subscriptionId, ctx.signal)
  const site = await doing(`reading the app ${app.app}`, () => web.getSite(app))
  if (!site) throw new NotFoundError(`The app ${app.app}${app.slot ? ` (slot ${app.slot})` : ''} was not found in resource group ${app.resourceGroup}.`, {code: 'AppNotFound'})
  const items = await doing(`listing the hybrid connections of ${app.app}`, () => web.listSiteRelays(app))
  const plan: ExportPlan = {app, namespaces: [], hybridConnections: [], rules: [], relays: [], warnings: []}
  const rg = app.resourceGroup.toLowerCase()
  for (const item of items) {
    const key = relayOf(item)
    const p = item.properties ?? {}
    if (!key) continue
    const ref = p.relayArmUri ? tryParseHybridConnectionId(p.relayArmUri) : {subscriptionId: ctx.subscriptionId, resourceGroup: app.resourceGroup, namespace: key.namespace, hybridConnection: key.name}
    if (!ref || ref.resourceGroup.toLowerCase() !== rg || ref.subscriptionId.toLowerCase() !== ctx.subscriptionId.toLowerCase()) {
      plan.warnings.push(`${key.namespace}/${key.name} lives in another resource group or subscription (${p.relayArmUri ?? '?'}); a template deploys to one group, so it was left out: export it from there, or attach it after deploying.`)
      continue
    }
    const hc = await doing(`reading ${key.namespace}/${key.name}`, () => ctx.relay.getHybridConnection(app.resourceGroup, key.namespace, key.name))
    if (!hc) {
      plan.warnings.push(`${key.namespace}/${key.name} is attached to the app but does not exist in ${app.resourceGroup}; left out (\`hcctl check\` reports it as config.relay-exists).`)
      continue
    }
    if (!plan.namespaces.some((n) => n.name.toLowerCase() === key.namespace.toLowerCase())) {
      const ns = await ctx.relay.getNamespace(app.resourceGroup, key.namespace)
      plan.namespaces.push({name: ns?.name || key.namespace, location: ns?.location ?? 'westeurope'})
    }
    const nsName = plan.namespaces.find((n) => n.name.toLowerCase() === key.namespace.toLowerCase())!.name
    plan.hybridConnections.push({namespace: nsName, name: hc.name || key.name, requiresClientAuthorization: hc.requiresClientAuthorization, ...(hc.userMetadata ? {userMetadata: hc.userMetadata} : {})})
    const hcName = hc.name || key.name
    const rules = await ctx.relay.listRules(app.resourceGroup, nsName, hcName)
    for (const r of rules) plan.rules.push({namespace: nsName, hybridConnection: hcName, name: r.name, rights: r.rights})
    const sendKeyName = p.sendKeyName ?? ''
    let keyScope: ExportAppRelay['keyScope'] = 'hybridConnection'
    if (!rules.some((r) => r.name.toLowerCase() === sendKeyName.toLowerCase())) {
      keyScope = 'namespace'
      if (sendKeyName.toLowerCase() !== ROOT_RULE.toLowerCase() && !plan.rules.some((r) => !r.hybridConnection && r.namespace === nsName && r.name.toLowerCase() === sendKeyName.toLowerCase())) {
        const nsRule = await ctx.arm.get<{name?: string; properties?: {rights?: Right[]}}>(`${relayNamespaceId({subscriptionId: ctx.subscriptionId, resourceGroup: app.resourceGroup, namespace: nsName})}/authorizationRules/${encodeURIComponent(sendKeyName)}`, {allowNotFound: true, signal: ctx.signal})
        if (nsRule) plan.rules.push({namespace: nsName, name: nsRule.name ?? sendKeyName, rights: nsRule.properties?.rights ?? ['Send']})
        else plan.warnings.push(`${nsName}/${hcName}: the app's send key rule ${sendKeyName} exists neither on the hybrid connection nor on the namespace; the template names it anyway (\`hcctl check\` reports keys.match).`)
      }
    }
    const rule = rules.find((r) => r.name.toLowerCase() === sendKeyName.toLowerCase())
    plan.relays.push({
      namespace: nsName,
      name: hcName,
      hostname: p.hostname ?? '',
      port: Number(p.port),
      sendKeyName: rule?.name ?? sendKeyName,
      keyScope,
      serviceBusSuffix: p.serviceBusSuffix ?? ctx.relaySuffix,
    })
  }
  return plan
}
