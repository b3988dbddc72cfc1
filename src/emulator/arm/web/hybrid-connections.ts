import {webError, webNotFound} from '../../http.js'
import {eq, type PlanRec, planId, type SiteRec, type SlotRec, type WebHcRec} from '../../state.js'
import {type ArmCtx, type ArmResult, obj, paged} from '../context.js'
import {hybridConnectionLimit} from '../skus.js'
import {requirePlan, sitesOfPlan} from './plans.js'
import {requireTarget, type SiteTarget, targetId} from './sites.js'

/**
 * Microsoft.Web hybrid connections: the contract an app or slot holds on a Relay hybrid
 * connection (sites/{app}[/slots/{slot}]/hybridConnectionNamespaces/{ns}/relays/{hc}), and the
 * plan-level view of the same contracts (serverfarms/{plan}/hybridConnection...) (arm-surface.md §6).
 */

/** The contract's properties as Azure answers them: the key is never read back (blank), only listKeys returns it. */
function contractProperties(hc: WebHcRec) {
  return {
    serviceBusNamespace: hc.serviceBusNamespace,
    relayName: hc.relayName,
    relayArmUri: hc.relayArmUri,
    hostname: hc.hostname,
    port: hc.port,
    sendKeyName: hc.sendKeyName,
    sendKeyValue: '',
    serviceBusSuffix: hc.serviceBusSuffix,
  }
}

function webHcBody(site: SiteRec, slot: SlotRec | undefined, hc: WebHcRec) {
  return {
    id: `${targetId(site, slot)}/hybridConnectionNamespaces/${hc.serviceBusNamespace}/relays/${hc.relayName}`,
    name: hc.relayName,
    // Azure answers a slot's contract with the app's type too (recorded, test/contract).
    type: 'Microsoft.Web/sites/hybridConnectionNamespaces/relays',
    location: site.location,
    properties: contractProperties(hc),
  }
}

function hcsOf(target: SiteTarget): WebHcRec[] {
  return target.slot ? target.slot.hybridConnections : target.site.hybridConnections
}

const pairKey = (ns: string, hc: string) => `${ns.toLowerCase()}/${hc.toLowerCase()}`

export function listSiteHybridConnections(ctx: ArmCtx): ArmResult {
  const target = requireTarget(ctx)
  return {status: 200, body: {value: hcsOf(target).map((h) => webHcBody(target.site, target.slot, h)), nextLink: null, id: null}}
}

function findWebHc(ctx: ArmCtx, list: WebHcRec[]): WebHcRec | undefined {
  return list.find((h) => eq(h.serviceBusNamespace, ctx.params.ns) && eq(h.relayName, ctx.params.hc))
}

export function getSiteHybridConnection(ctx: ArmCtx): ArmResult {
  const target = requireTarget(ctx)
  const hc = findWebHc(ctx, hcsOf(target))
  if (!hc) throw webNotFound('HybridConnection', `${ctx.params.ns}/${ctx.params.hc}`)
  return {status: 200, body: webHcBody(target.site, target.slot, hc)}
}

/** PUT (create or replace) and PATCH (merge) of the site/slot contract, with the plan's tier rules. */
export function putSiteHybridConnection(ctx: ArmCtx): ArmResult {
  const target = requireTarget(ctx)
  const list = hcsOf(target)
  const existing = findWebHc(ctx, list)
  const props = obj(obj(ctx.body).properties)
  if (ctx.method === 'PATCH' && !existing) throw webNotFound('HybridConnection', `${ctx.params.ns}/${ctx.params.hc}`)
  const base: Partial<WebHcRec> = ctx.method === 'PATCH' && existing ? {...existing} : {}
  const str = (k: keyof WebHcRec) => (typeof props[k] === 'string' ? (props[k] as string) : (base[k] as string | undefined))
  const hostname = str('hostname')
  const portRaw = props.port ?? base.port
  const port = typeof portRaw === 'string' && /^\d+$/.test(portRaw) ? Number(portRaw) : portRaw
  if (!hostname) throw webError(400, 'BadRequest', 'properties.hostname is required: the endpoint host the app connects to.', {extendedCode: '51021', messageTemplate: '{0} is invalid.', parameters: ['hostname']})
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw webError(400, 'BadRequest', 'properties.port is required: an integer from 1 to 65535.', {extendedCode: '51021', messageTemplate: '{0} is invalid.', parameters: ['port']})
  }
  const plan = ctx.env.state.planById(target.slot?.serverFarmId ?? target.site.serverFarmId)
  if (!plan) throw webNotFound('ServerFarm', target.site.serverFarmId.split('/').pop() ?? '')
  const limit = hybridConnectionLimit(plan.sku.tier)
  if (!limit.eligible) {
    throw webError(400, 'BadRequest', `Hybrid Connections are not available for the App Service plan '${plan.name}' in the '${plan.sku.tier}' pricing tier. Scale the plan up to Basic or higher (Consumption and Flex Consumption plans do not support Hybrid Connections).`, {
      extendedCode: '04097',
      messageTemplate: "Hybrid Connections are not available for the App Service plan '{0}' in the '{1}' pricing tier.",
      parameters: [plan.name, plan.sku.tier],
    })
  }
  if (!existing) {
    const pairs = new Set<string>([pairKey(ctx.params.ns!, ctx.params.hc!)])
    const scope = limit.scope === 'plan' ? sitesOfPlan(ctx, plan) : [target]
    for (const t of scope) for (const h of hcsOf(t)) pairs.add(pairKey(h.serviceBusNamespace, h.relayName))
    if (pairs.size > limit.maximum) {
      const per = limit.scope === 'plan' ? `the App Service plan '${plan.name}'` : `the app '${target.site.name}'`
      throw webError(409, 'Conflict', `The maximum number of Hybrid Connections (${limit.maximum}) for ${per} in the '${plan.sku.tier}' pricing tier has been reached (HybridConnectionLimitReached). Remove one or scale up the plan.`, {
        extendedCode: '04098',
        messageTemplate: 'The maximum number of Hybrid Connections ({0}) for {1} has been reached.',
        parameters: [String(limit.maximum), per],
      })
    }
  }
  const rec: WebHcRec = {
    serviceBusNamespace: existing?.serviceBusNamespace ?? ctx.params.ns!,
    relayName: existing?.relayName ?? ctx.params.hc!,
    relayArmUri: str('relayArmUri') ?? '',
    hostname,
    port,
    sendKeyName: str('sendKeyName') ?? '',
    sendKeyValue: str('sendKeyValue') ?? '',
    serviceBusSuffix: str('serviceBusSuffix') ?? ctx.env.relaySuffix,
  }
  if (existing) Object.assign(existing, rec)
  else list.push(rec)
  return {status: 200, body: webHcBody(target.site, target.slot, existing ?? rec)}
}

export function deleteSiteHybridConnection(ctx: ArmCtx): ArmResult {
  const target = requireTarget(ctx)
  const list = hcsOf(target)
  const hc = findWebHc(ctx, list)
  if (!hc) throw webNotFound('HybridConnection', `${ctx.params.ns}/${ctx.params.hc}`)
  list.splice(list.indexOf(hc), 1)
  return {status: 200}
}

// ── hybrid connections at plan level ──────────────────────────────────────────────────────

interface PlanHc {
  hc: WebHcRec
  users: SiteTarget[]
}

function planHcs(ctx: ArmCtx, plan: PlanRec): PlanHc[] {
  const groups = new Map<string, PlanHc>()
  for (const t of sitesOfPlan(ctx, plan)) {
    for (const hc of hcsOf(t)) {
      const key = pairKey(hc.serviceBusNamespace, hc.relayName)
      const g = groups.get(key) ?? {hc, users: []}
      g.users.push(t)
      groups.set(key, g)
    }
  }
  return [...groups.values()]
}

function planHcBody(plan: PlanRec, hc: WebHcRec) {
  return {
    id: `${planId(plan)}/hybridConnectionNamespaces/${hc.serviceBusNamespace}/relays/${hc.relayName}`,
    name: hc.relayName,
    type: 'Microsoft.Web/serverfarms/hybridConnectionNamespaces/relays',
    location: plan.location,
    properties: contractProperties(hc),
  }
}

function requirePlanHc(ctx: ArmCtx, plan: PlanRec): PlanHc {
  const found = planHcs(ctx, plan).find((g) => eq(g.hc.serviceBusNamespace, ctx.params.ns) && eq(g.hc.relayName, ctx.params.hc))
  if (!found) throw webNotFound('HybridConnection', `${ctx.params.ns}/${ctx.params.hc}`)
  return found
}

export function listPlanHybridConnections(ctx: ArmCtx): ArmResult {
  const plan = requirePlan(ctx)
  return paged(ctx, planHcs(ctx, plan).map((g) => planHcBody(plan, g.hc)), {nullNextLink: true})
}

export function getPlanHybridConnection(ctx: ArmCtx): ArmResult {
  const plan = requirePlan(ctx)
  return {status: 200, body: planHcBody(plan, requirePlanHc(ctx, plan).hc)}
}

/** Removes the connection from every app of the plan: 200, or 204 when no app used it. */
export function deletePlanHybridConnection(ctx: ArmCtx): ArmResult {
  const plan = requirePlan(ctx)
  let removed = 0
  for (const t of sitesOfPlan(ctx, plan)) {
    const list = hcsOf(t)
    for (let i = list.length - 1; i >= 0; i--) {
      if (eq(list[i]!.serviceBusNamespace, ctx.params.ns) && eq(list[i]!.relayName, ctx.params.hc)) {
        list.splice(i, 1)
        removed++
      }
    }
  }
  return {status: removed > 0 ? 200 : 204}
}

export function listPlanHybridConnectionKeys(ctx: ArmCtx): ArmResult {
  const plan = requirePlan(ctx)
  const {hc} = requirePlanHc(ctx, plan)
  return {
    status: 200,
    body: {
      id: `${planId(plan)}/hybridConnectionNamespaces/${hc.serviceBusNamespace}/relays/${hc.relayName}`,
      name: hc.relayName,
      type: 'Microsoft.Web/serverfarms/hybridConnectionNamespaces/relays',
      properties: {sendKeyName: hc.sendKeyName, sendKeyValue: hc.sendKeyValue},
    },
  }
}

/** The apps of the plan that use the connection: objects with id and name (what the az CLI parses). */
export function listPlanHybridConnectionSites(ctx: ArmCtx): ArmResult {
  const plan = requirePlan(ctx)
  const {users} = requirePlanHc(ctx, plan)
  const items = users.map(({site, slot}) => ({id: targetId(site, slot), name: slot ? `${site.name}/${slot.name}` : site.name}))
  return paged(ctx, items, {nullNextLink: true})
}

export function getPlanLimit(ctx: ArmCtx): ArmResult {
  const plan = requirePlan(ctx)
  const limit = hybridConnectionLimit(plan.sku.tier)
  return {
    status: 200,
    body: {
      id: `${planId(plan)}/hybridConnectionPlanLimits/limit`,
      name: 'limit',
      type: 'Microsoft.Web/serverfarms/hybridConnectionPlanLimits',
      location: plan.location,
      properties: {current: planHcs(ctx, plan).length, maximum: limit.maximum},
    },
  }
}
