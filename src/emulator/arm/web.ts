import {randomUUID} from 'node:crypto'

import {armError, webError, webNotFound} from '../http.js'
import {armTime, eq, type PlanRec, planId, type SiteRec, siteId, type SlotRec, type WebHcRec} from '../state.js'
import {type ArmCtx, type ArmResult, obj, paged, tagsOf} from './context.js'
import {hybridConnectionLimit, resolveSku} from './skus.js'

/** Microsoft.Web: plans, sites, slots and the hybrid-connection contracts on them (arm-surface.md §3, §5, §6). */

const SITE_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,58}[A-Za-z0-9])?$/
const PLAN_NAME = /^[A-Za-z0-9_-]{1,60}$/

function resourceNotFound(ctx: ArmCtx, type: string, name: string): never {
  throw armError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${ctx.params.rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`)
}

// ── plans ─────────────────────────────────────────────────────────────────────────────────

function sitesOfPlan(ctx: ArmCtx, plan: PlanRec): Array<{site: SiteRec; slot?: SlotRec}> {
  const id = planId(plan)
  const out: Array<{site: SiteRec; slot?: SlotRec}> = []
  for (const site of ctx.env.state.data.sites) {
    if (eq(site.serverFarmId, id)) out.push({site})
    for (const slot of site.slots) if (eq(slot.serverFarmId ?? site.serverFarmId, id)) out.push({site, slot})
  }
  return out
}

function planBody(ctx: ArmCtx, plan: PlanRec) {
  const pending = plan.pendingPolls > 0
  const dynamic = plan.sku.tier === 'Dynamic'
  return {
    id: planId(plan),
    name: plan.name,
    type: 'Microsoft.Web/serverfarms',
    kind: plan.kind,
    location: plan.location,
    tags: plan.tags ?? {},
    sku: {name: plan.sku.name, tier: plan.sku.tier, size: plan.sku.size, family: plan.sku.family, capacity: plan.sku.capacity},
    properties: {
      name: plan.name,
      status: pending ? 'Creating' : 'Ready',
      provisioningState: pending ? 'InProgress' : 'Succeeded',
      maximumNumberOfWorkers: dynamic ? 0 : 30,
      numberOfWorkers: plan.sku.capacity,
      geoRegion: plan.location,
      numberOfSites: sitesOfPlan(ctx, plan).filter((s) => !s.slot).length,
      computeMode: dynamic ? 'Dynamic' : 'Dedicated',
      reserved: plan.reserved,
      isXenon: false,
      hyperV: false,
      perSiteScaling: false,
      elasticScaleEnabled: false,
      maximumElasticWorkerCount: 1,
      zoneRedundant: false,
      resourceGroup: plan.resourceGroup,
      hostingEnvironmentProfile: null,
    },
  }
}

function requirePlan(ctx: ArmCtx): PlanRec {
  const plan = ctx.env.state.plan(ctx.params.sub!, ctx.params.rg!, ctx.params.plan!)
  if (!plan) resourceNotFound(ctx, 'Microsoft.Web/serverFarms', ctx.params.plan!)
  return plan
}

export function listPlansBySubscription(ctx: ArmCtx): ArmResult {
  return paged(ctx, ctx.env.state.data.plans.filter((p) => eq(p.subscriptionId, ctx.params.sub)).map((p) => planBody(ctx, p)), {nullNextLink: true})
}

export function listPlansByGroup(ctx: ArmCtx): ArmResult {
  const plans = ctx.env.state.data.plans.filter((p) => eq(p.subscriptionId, ctx.params.sub) && eq(p.resourceGroup, ctx.params.rg))
  return paged(ctx, plans.map((p) => planBody(ctx, p)), {nullNextLink: true})
}

export function getPlan(ctx: ArmCtx): ArmResult {
  const plan = requirePlan(ctx)
  if (plan.pendingPolls > 0) {
    plan.pendingPolls--
    ctx.env.state.save()
  }
  return {status: 200, body: planBody(ctx, plan)}
}

/** PUT as a long-running operation: 202 + Location the first time, the plan flips to Succeeded after polls. */
export function putPlan(ctx: ArmCtx): ArmResult {
  const {sub, rg, plan: name} = ctx.params as {sub: string; rg: string; plan: string}
  const body = obj(ctx.body)
  if (!PLAN_NAME.test(name)) throw webError(400, 'BadRequest', `The App Service plan name '${name}' is invalid: 1-60 letters, digits, '-' and '_'.`)
  const existing = ctx.env.state.plan(sub, rg, name)
  const skuIn = body.sku === undefined ? undefined : obj(body.sku)
  const sku = skuIn ? resolveSku(skuIn) : existing?.sku ?? resolveSku({name: 'S1'})
  if (!sku) throw webError(400, 'BadRequest', `The pricing tier '${String(skuIn?.name ?? skuIn?.tier)}' is not allowed for App Service plans. Use a SKU such as F1, D1, B1, S1, P1v3, I1v2 or Y1.`)
  const props = obj(body.properties)
  if (existing) {
    existing.sku = sku
    existing.tags = tagsOf(body.tags) ?? existing.tags
    if (typeof props.reserved === 'boolean') existing.reserved = props.reserved
    if (typeof body.kind === 'string') existing.kind = body.kind
    return {status: 200, body: planBody(ctx, existing)}
  }
  if (typeof body.location !== 'string' || !body.location) throw armError(400, 'LocationRequired', 'The location property is required for this definition.')
  const plan: PlanRec = {
    subscriptionId: ctx.env.state.subscription(sub)!.subscriptionId,
    resourceGroup: ctx.env.state.resourceGroup(sub, rg)!.name,
    name,
    location: body.location,
    kind: typeof body.kind === 'string' ? body.kind : props.reserved === true ? 'linux' : 'app',
    tags: tagsOf(body.tags),
    sku,
    reserved: props.reserved === true || (typeof body.kind === 'string' && /linux/i.test(body.kind)),
    pendingPolls: ctx.env.lroPolls,
    createdAt: armTime(),
  }
  ctx.env.state.data.plans.push(plan)
  const opId = randomUUID()
  return {
    status: 202,
    body: planBody(ctx, plan),
    headers: {
      location: `${ctx.env.armUrl()}${planId(plan)}/operationresults/${opId}?api-version=${ctx.apiVersion}`,
      ...(ctx.env.retryAfterSeconds !== undefined ? {'retry-after': String(ctx.env.retryAfterSeconds)} : {}),
    },
  }
}

export function planOperationResult(ctx: ArmCtx): ArmResult {
  const plan = requirePlan(ctx)
  if (plan.pendingPolls > 0) plan.pendingPolls--
  ctx.env.state.save()
  if (plan.pendingPolls > 0) {
    return {status: 202, headers: {location: `${ctx.env.armUrl()}${ctx.url.pathname}${ctx.url.search}`}}
  }
  return {status: 200, body: planBody(ctx, plan)}
}

export function deletePlan(ctx: ArmCtx): ArmResult {
  const plan = ctx.env.state.plan(ctx.params.sub!, ctx.params.rg!, ctx.params.plan!)
  if (!plan) return {status: 204}
  if (sitesOfPlan(ctx, plan).length > 0) {
    throw webError(409, 'Conflict', `Server farm '${plan.name}' cannot be deleted because it has web app(s) assigned to it.`, {extendedCode: '11001', messageTemplate: 'Server farm {0} cannot be deleted because it has web app(s) {1} assigned to it.', parameters: [plan.name, '']})
  }
  ctx.env.state.data.plans = ctx.env.state.data.plans.filter((p) => p !== plan)
  return {status: 200}
}

// ── sites and slots ───────────────────────────────────────────────────────────────────────

function siteBody(ctx: ArmCtx, site: SiteRec, slot?: SlotRec) {
  const plan = ctx.env.state.planById(slot?.serverFarmId ?? site.serverFarmId)
  const host = slot ? `${site.name}-${slot.name}${ctx.env.appServiceSuffix}` : `${site.name}${ctx.env.appServiceSuffix}`
  const kind = slot?.kind ?? site.kind
  return {
    id: slot ? `${siteId(site)}/slots/${slot.name}` : siteId(site),
    name: slot ? `${site.name}/${slot.name}` : site.name,
    type: slot ? 'Microsoft.Web/sites/slots' : 'Microsoft.Web/sites',
    kind,
    location: site.location,
    tags: site.tags ?? {},
    properties: {
      name: slot ? `${site.name}(${slot.name})` : site.name,
      state: 'Running',
      hostNames: [host],
      enabledHostNames: [host, host.replace(/^([^.]+)/, '$1.scm')],
      defaultHostName: host,
      enabled: true,
      availabilityState: 'Normal',
      serverFarmId: slot?.serverFarmId ?? site.serverFarmId,
      sku: plan?.sku.tier ?? null,
      reserved: /linux/i.test(kind),
      isXenon: false,
      hyperV: false,
      resourceGroup: site.resourceGroup,
      httpsOnly: false,
      hostingEnvironmentProfile: null,
      provisioningState: 'Succeeded',
    },
  }
}

function requireSite(ctx: ArmCtx): SiteRec {
  const site = ctx.env.state.site(ctx.params.sub!, ctx.params.rg!, ctx.params.site!)
  if (!site) resourceNotFound(ctx, 'Microsoft.Web/sites', ctx.params.site!)
  return site
}

function requireTarget(ctx: ArmCtx): {site: SiteRec; slot?: SlotRec} {
  const site = requireSite(ctx)
  if (ctx.params.slot === undefined) return {site}
  const slot = site.slots.find((s) => eq(s.name, ctx.params.slot))
  if (!slot) resourceNotFound(ctx, 'Microsoft.Web/sites/slots', `${site.name}/${ctx.params.slot}`)
  return {site, slot}
}

export function listSitesBySubscription(ctx: ArmCtx): ArmResult {
  return paged(ctx, ctx.env.state.data.sites.filter((s) => eq(s.subscriptionId, ctx.params.sub)).map((s) => siteBody(ctx, s)), {nullNextLink: true})
}

export function listSitesByGroup(ctx: ArmCtx): ArmResult {
  const sites = ctx.env.state.data.sites.filter((s) => eq(s.subscriptionId, ctx.params.sub) && eq(s.resourceGroup, ctx.params.rg))
  return paged(ctx, sites.map((s) => siteBody(ctx, s)), {nullNextLink: true})
}

export function getSite(ctx: ArmCtx): ArmResult {
  const {site, slot} = requireTarget(ctx)
  return {status: 200, body: siteBody(ctx, site, slot)}
}

function kindOf(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || !value.trim()) return fallback
  return value.trim()
}

export function putSite(ctx: ArmCtx): ArmResult {
  const {sub, rg, site: name} = ctx.params as {sub: string; rg: string; site: string}
  const body = obj(ctx.body)
  const props = obj(body.properties)
  if (!SITE_NAME.test(name)) throw webError(400, 'BadRequest', `The app name '${name}' is invalid: 1-60 letters, digits and hyphens, starting and ending with a letter or digit.`)
  const existing = ctx.env.state.site(sub, rg, name)
  const farmIn = typeof props.serverFarmId === 'string' ? props.serverFarmId : undefined
  const plan = farmIn ? ctx.env.state.planById(farmIn) : existing ? ctx.env.state.planById(existing.serverFarmId) : undefined
  if (farmIn && !plan) {
    throw webError(404, 'NotFound', `Cannot find ServerFarm with name ${farmIn.split('/').pop()}.`, {extendedCode: '51004', messageTemplate: 'Cannot find {0} with name {1}.', parameters: ['ServerFarm', farmIn.split('/').pop() ?? '']})
  }
  if (existing) {
    if (plan) existing.serverFarmId = planId(plan)
    existing.kind = kindOf(body.kind, existing.kind)
    existing.tags = tagsOf(body.tags) ?? existing.tags
    return {status: 200, body: siteBody(ctx, existing)}
  }
  if (!plan) throw webError(400, 'BadRequest', 'properties.serverFarmId is required: the ARM id of an App Service plan.')
  if (typeof body.location !== 'string' || !body.location) throw armError(400, 'LocationRequired', 'The location property is required for this definition.')
  if (ctx.env.state.siteAnywhere(name)) {
    throw webError(409, 'Conflict', `Website with given name ${name} already exists.`, {extendedCode: '54001', messageTemplate: 'Website with given name {0} already exists.', parameters: [name]})
  }
  const site: SiteRec = {
    subscriptionId: ctx.env.state.subscription(sub)!.subscriptionId,
    resourceGroup: ctx.env.state.resourceGroup(sub, rg)!.name,
    name,
    location: body.location,
    kind: kindOf(body.kind, plan.reserved ? 'app,linux' : 'app'),
    tags: tagsOf(body.tags),
    serverFarmId: planId(plan),
    createdAt: armTime(),
    hybridConnections: [],
    slots: [],
  }
  ctx.env.state.data.sites.push(site)
  return {status: 200, body: siteBody(ctx, site)}
}

export function deleteSite(ctx: ArmCtx): ArmResult {
  const site = ctx.env.state.site(ctx.params.sub!, ctx.params.rg!, ctx.params.site!)
  if (!site) throw webNotFound('Site', ctx.params.site!)
  ctx.env.state.data.sites = ctx.env.state.data.sites.filter((s) => s !== site)
  return {status: 200}
}

export function listSlots(ctx: ArmCtx): ArmResult {
  const site = requireSite(ctx)
  return paged(ctx, site.slots.map((slot) => siteBody(ctx, site, slot)), {nullNextLink: true})
}

export function putSlot(ctx: ArmCtx): ArmResult {
  const site = requireSite(ctx)
  const name = ctx.params.slot!
  if (!SITE_NAME.test(name)) throw webError(400, 'BadRequest', `The slot name '${name}' is invalid.`)
  const body = obj(ctx.body)
  const farmIn = obj(body.properties).serverFarmId
  const plan = typeof farmIn === 'string' ? ctx.env.state.planById(farmIn) : undefined
  if (typeof farmIn === 'string' && !plan) throw webNotFound('ServerFarm', farmIn.split('/').pop() ?? farmIn)
  let slot = site.slots.find((s) => eq(s.name, name))
  if (slot) {
    slot.kind = kindOf(body.kind, slot.kind)
    if (plan) slot.serverFarmId = planId(plan)
  } else {
    slot = {name, kind: kindOf(body.kind, site.kind), ...(plan ? {serverFarmId: planId(plan)} : {}), createdAt: armTime(), hybridConnections: []}
    site.slots.push(slot)
  }
  return {status: 200, body: siteBody(ctx, site, slot)}
}

export function deleteSlot(ctx: ArmCtx): ArmResult {
  const site = requireSite(ctx)
  const before = site.slots.length
  site.slots = site.slots.filter((s) => !eq(s.name, ctx.params.slot))
  if (site.slots.length === before) throw webNotFound('Site', `${site.name}/${ctx.params.slot}`)
  return {status: 200}
}

// ── hybrid connections on a site or slot ──────────────────────────────────────────────────

function targetId(site: SiteRec, slot?: SlotRec): string {
  return slot ? `${siteId(site)}/slots/${slot.name}` : siteId(site)
}

function webHcBody(site: SiteRec, slot: SlotRec | undefined, hc: WebHcRec) {
  return {
    id: `${targetId(site, slot)}/hybridConnectionNamespaces/${hc.serviceBusNamespace}/relays/${hc.relayName}`,
    name: hc.relayName,
    type: slot ? 'Microsoft.Web/sites/slots/hybridConnectionNamespaces/relays' : 'Microsoft.Web/sites/hybridConnectionNamespaces/relays',
    location: site.location,
    properties: {
      serviceBusNamespace: hc.serviceBusNamespace,
      relayName: hc.relayName,
      relayArmUri: hc.relayArmUri,
      hostname: hc.hostname,
      port: hc.port,
      sendKeyName: hc.sendKeyName,
      sendKeyValue: '',
      serviceBusSuffix: hc.serviceBusSuffix,
    },
  }
}

function hcsOf(target: {site: SiteRec; slot?: SlotRec}): WebHcRec[] {
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
  users: Array<{site: SiteRec; slot?: SlotRec}>
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
    properties: {
      serviceBusNamespace: hc.serviceBusNamespace,
      relayName: hc.relayName,
      relayArmUri: hc.relayArmUri,
      hostname: hc.hostname,
      port: hc.port,
      sendKeyName: hc.sendKeyName,
      sendKeyValue: '',
      serviceBusSuffix: hc.serviceBusSuffix,
    },
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

// ── the app sandbox (Kudu command API) ────────────────────────────────────────────────────

export async function siteCommand(ctx: ArmCtx): Promise<ArmResult> {
  const {site, slot} = requireTarget(ctx)
  const body = obj(ctx.body)
  const command = typeof body.command === 'string' ? body.command : ''
  if (!command.trim()) throw webError(400, 'BadRequest', "The request body needs a command, e.g. {\"command\": \"tcpping host:port\", \"dir\": null}.")
  const result = await ctx.env.runCommand({subscriptionId: site.subscriptionId, resourceGroup: site.resourceGroup, site: site.name, slot: slot?.name}, command)
  return {status: 200, body: result}
}
