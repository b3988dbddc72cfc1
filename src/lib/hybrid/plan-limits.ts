import {NotFoundError, UsageError} from '../errors.js'
import {doing, type HybridContext} from './context.js'
import {serverfarmId, tryParseServerfarmId} from '../azure/resource-id.js'
import type {AppRef} from './model.js'
import {validateAppName, validatePlanName, validateResourceGroupName, validateSlotName} from './naming.js'
import {tierFromSkuName, tierRule} from './plan.js'
import {scanUsages} from './usages.js'
import {WebApi} from './web.js'

export interface PlanLimitsInput {
  resourceGroup: string
  plan?: string
  app?: string
  slot?: string
}

export interface PlanLimitsResult {
  plan: string
  resourceGroup: string
  tier: string
  sku?: string
  eligible: boolean
  reason?: string
  /** Basic/Standard count per plan; Premium/Isolated per app. */
  scope?: 'plan' | 'app'
  current: number
  maximum: number
  /** The hybrid connections that count, with the apps using each (one used by several apps counts once). */
  hybridConnections: Array<{namespace: string; name: string; relayResourceGroup?: string; endpoint?: string; apps: Array<{app: string; slot?: string; resourceGroup: string}>}>
}

export async function planLimits(ctx: HybridContext, input: PlanLimitsInput): Promise<PlanLimitsResult> {
  validateResourceGroupName(input.resourceGroup)
  if (Boolean(input.plan) === Boolean(input.app)) throw new UsageError('Give either --plan or --app.', {code: 'UsageError'})
  const web = new WebApi(ctx.arm, ctx.subscriptionId, ctx.signal)
  let planId: string
  if (input.app) {
    validateAppName(input.app)
    if (input.slot) validateSlotName(input.slot)
    const ref: AppRef = {resourceGroup: input.resourceGroup, app: input.app, ...(input.slot ? {slot: input.slot} : {})}
    const site = await doing(`reading the app ${input.app}`, () => web.getSite(ref))
    if (!site) throw new NotFoundError(`The app ${input.app} was not found in resource group ${input.resourceGroup}.`, {code: 'AppNotFound'})
    if (!site.properties?.serverFarmId) throw new NotFoundError(`The app ${input.app} reports no App Service plan.`, {code: 'PlanNotFound'})
    planId = site.properties.serverFarmId
  } else {
    planId = serverfarmId({subscriptionId: ctx.subscriptionId, resourceGroup: input.resourceGroup, plan: validatePlanName(input.plan)})
  }
  const ref = tryParseServerfarmId(planId)!
  const plan = await doing(`reading the plan ${ref.plan}`, () => web.getPlan(planId))
  if (!plan) throw new NotFoundError(`The App Service plan ${ref.plan} was not found in resource group ${ref.resourceGroup}.`, {code: 'PlanNotFound'})
  const tierName = plan.sku?.tier ?? tierFromSkuName(plan.sku?.name) ?? ''
  const rule = tierRule(tierName)
  const [limit, scan] = await Promise.all([
    rule.eligible ? doing('reading the plan limit', () => web.getPlanLimit(plan.id || planId)) : Promise.resolve(undefined),
    doing('listing the plan\'s hybrid connections', () => scanUsages(ctx, web, {plans: [{...plan, id: plan.id || planId}]})),
  ])
  const hybridConnections = scan.usages.map((u) => ({
    namespace: u.namespace,
    name: u.name,
    ...(u.relay ? {relayResourceGroup: u.relay.resourceGroup} : {}),
    ...(u.hostname && u.port ? {endpoint: `${u.hostname}:${u.port}`} : {}),
    apps: u.apps.map((a) => ({app: a.app, ...(a.slot ? {slot: a.slot} : {}), resourceGroup: a.resourceGroup})),
  }))
  return {
    plan: plan.name || ref.plan,
    resourceGroup: ref.resourceGroup,
    tier: tierName,
    ...(plan.sku?.name ? {sku: plan.sku.name} : {}),
    eligible: rule.eligible,
    ...(rule.reason ? {reason: rule.reason} : {}),
    ...(rule.scope ? {scope: rule.scope} : {}),
    current: limit?.current ?? hybridConnections.length,
    maximum: rule.eligible ? (limit?.maximum ?? rule.maximum ?? 0) : 0,
    hybridConnections,
  }
}
