import {randomUUID} from 'node:crypto'

import {armError, resourceNotFound, webError} from '../../http.js'
import {armTime, eq, type PlanRec, planId, type SiteRec, type SlotRec} from '../../state.js'
import {type ArmCtx, type ArmResult, obj, paged, tagsOf} from '../context.js'
import {resolveSku} from '../skus.js'

/** Microsoft.Web serverfarms: App Service plans (arm-surface.md §3). */

const PLAN_NAME = /^[A-Za-z0-9_-]{1,60}$/

/** Every app and slot that runs on the plan (a slot may sit on another plan than its app). */
export function sitesOfPlan(ctx: ArmCtx, plan: PlanRec): Array<{site: SiteRec; slot?: SlotRec}> {
  const id = planId(plan)
  const out: Array<{site: SiteRec; slot?: SlotRec}> = []
  for (const site of ctx.env.state.data.sites) {
    if (eq(site.serverFarmId, id)) out.push({site})
    for (const slot of site.slots) if (eq(slot.serverFarmId ?? site.serverFarmId, id)) out.push({site, slot})
  }
  return out
}

/** A stable small number per plan: Azure's plans carry an internal numeric serverFarmId. */
function numericId(plan: PlanRec): number {
  let h = 0
  for (const c of planId(plan).toLowerCase()) h = (h * 31 + c.charCodeAt(0)) % 90_000
  return 10_000 + h
}

/** The plan as Azure answers it (property set as recorded from real Azure, test/contract). */
function planBody(ctx: ArmCtx, plan: PlanRec) {
  const pending = plan.pendingPolls > 0
  const dynamic = plan.sku.tier === 'Dynamic'
  const farm = numericId(plan)
  return {
    id: planId(plan),
    name: plan.name,
    type: 'Microsoft.Web/serverfarms',
    kind: plan.kind,
    location: plan.location,
    ...(plan.tags ? {tags: plan.tags} : {}),
    properties: {
      serverFarmId: farm,
      name: plan.name,
      workerSize: 'Default',
      workerSizeId: 0,
      workerTierName: null,
      numberOfWorkers: plan.sku.capacity,
      currentWorkerSize: 'Default',
      currentWorkerSizeId: 0,
      currentNumberOfWorkers: plan.sku.capacity,
      status: pending ? 'Creating' : 'Ready',
      webSpace: `${plan.resourceGroup}-${plan.location.replace(/\s/g, '')}webspace`,
      subscription: plan.subscriptionId,
      adminSiteName: null,
      hostingEnvironment: null,
      hostingEnvironmentProfile: null,
      maximumNumberOfWorkers: dynamic ? 0 : 30,
      planName: 'VirtualDedicatedPlan',
      adminRuntimeSiteName: null,
      computeMode: dynamic ? 'Dynamic' : 'Dedicated',
      siteMode: null,
      geoRegion: plan.location,
      perSiteScaling: false,
      elasticScaleEnabled: false,
      maximumElasticWorkerCount: 1,
      numberOfSites: sitesOfPlan(ctx, plan).filter((s) => !s.slot).length,
      hostingEnvironmentId: null,
      isSpot: false,
      spotExpirationTime: null,
      freeOfferExpirationTime: null,
      tags: plan.tags ?? null,
      kind: plan.kind,
      resourceGroup: plan.resourceGroup,
      reserved: plan.reserved,
      isXenon: false,
      hyperV: false,
      mdmId: `waws-emulator_${farm}`,
      targetWorkerCount: 0,
      targetWorkerSizeId: 0,
      provisioningState: pending ? 'InProgress' : 'Succeeded',
      webSiteId: null,
      existingServerFarmIds: null,
      kubeEnvironmentProfile: null,
      zoneRedundant: false,
    },
    sku: {name: plan.sku.name, tier: plan.sku.tier, size: plan.sku.size, family: plan.sku.family, capacity: plan.sku.capacity},
  }
}

export function requirePlan(ctx: ArmCtx): PlanRec {
  const plan = ctx.env.state.plan(ctx.params.sub!, ctx.params.rg!, ctx.params.plan!)
  if (!plan) throw resourceNotFound(ctx.params.rg!, 'Microsoft.Web/serverFarms', ctx.params.plan!)
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

/**
 * PATCH of a plan (AppServicePlans_Update): merges what the body names. Azure's
 * AppServicePlanPatchResource carries kind and properties, not sku (scaling is a PUT) nor
 * tags; of its properties the emulator models reserved (Linux).
 */
export function patchPlan(ctx: ArmCtx): ArmResult {
  const plan = requirePlan(ctx)
  const body = obj(ctx.body)
  const props = obj(body.properties)
  if (typeof body.kind === 'string' && body.kind.trim()) plan.kind = body.kind.trim()
  if (typeof props.reserved === 'boolean') plan.reserved = props.reserved
  return {status: 200, body: planBody(ctx, plan)}
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
