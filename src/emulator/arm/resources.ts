import {randomUUID} from 'node:crypto'

import {armError} from '../http.js'
import {DEFAULT_LOCATION, eq, namespaceId} from '../state.js'
import {type ArmCtx, type ArmResult, obj, paged, tagsOf} from './context.js'

/** Microsoft.Resources: tenants, subscriptions and resource groups. */

function subscriptionBody(ctx: ArmCtx, s: {subscriptionId: string; displayName: string}) {
  return {
    id: `/subscriptions/${s.subscriptionId}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId: s.subscriptionId,
    tenantId: ctx.env.state.data.tenantId,
    displayName: s.displayName,
    state: 'Enabled',
    subscriptionPolicies: {locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off'},
  }
}

export function listTenants(ctx: ArmCtx): ArmResult {
  const tenantId = ctx.env.state.data.tenantId
  return {status: 200, body: {value: [{id: `/tenants/${tenantId}`, tenantId, tenantCategory: 'Home', displayName: 'hcctl emulator', defaultDomain: 'emulator.localhost', tenantType: 'AAD'}]}}
}

export function listSubscriptions(ctx: ArmCtx): ArmResult {
  const all = ctx.env.state.data.subscriptions.map((s) => subscriptionBody(ctx, s))
  const page = paged(ctx, all)
  ;(page.body as Record<string, unknown>).count = {type: 'Total', value: all.length}
  return page
}

export function getSubscription(ctx: ArmCtx): ArmResult {
  const s = ctx.env.state.subscription(ctx.params.sub!)!
  return {status: 200, body: subscriptionBody(ctx, s)}
}

function rgBody(g: {subscriptionId: string; name: string; location: string; tags?: Record<string, string>}) {
  return {
    id: `/subscriptions/${g.subscriptionId}/resourceGroups/${g.name}`,
    name: g.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: g.location,
    ...(g.tags ? {tags: g.tags} : {}),
    properties: {provisioningState: 'Succeeded'},
  }
}

export function listResourceGroups(ctx: ArmCtx): ArmResult {
  const groups = ctx.env.state.data.resourceGroups.filter((g) => eq(g.subscriptionId, ctx.params.sub))
  return paged(ctx, groups.map(rgBody))
}

export function getResourceGroup(ctx: ArmCtx): ArmResult {
  return {status: 200, body: rgBody(ctx.env.state.resourceGroup(ctx.params.sub!, ctx.params.rg!)!)}
}

export function headResourceGroup(ctx: ArmCtx): ArmResult {
  return {status: ctx.env.state.resourceGroup(ctx.params.sub!, ctx.params.rg!) ? 204 : 404}
}

const RG_NAME = /^[-\w._()]{1,90}$/u

export function putResourceGroup(ctx: ArmCtx): ArmResult {
  const {sub, rg} = ctx.params as {sub: string; rg: string}
  const body = obj(ctx.body)
  if (!RG_NAME.test(rg) || rg.endsWith('.')) {
    throw armError(400, 'InvalidResourceGroup', `The provided resource group name '${rg}' has these invalid characters or is too long: resource group names are 1-90 characters of letters, digits, '-', '_', '.', '(' and ')' and do not end in '.'.`)
  }
  const existing = ctx.env.state.resourceGroup(sub, rg)
  if (typeof body.location !== 'string' || !body.location) {
    if (!existing) throw armError(400, 'LocationRequired', 'The location property is required for this definition.')
  }
  if (existing) {
    if (typeof body.location === 'string' && body.location && body.location.replace(/\s/g, '').toLowerCase() !== existing.location.replace(/\s/g, '').toLowerCase()) {
      throw armError(409, 'InvalidResourceGroupLocation', `Invalid resource group location '${body.location}'. The Resource group already exists in location '${existing.location}'.`)
    }
    existing.tags = tagsOf(body.tags) ?? existing.tags
    return {status: 200, body: rgBody(existing)}
  }
  const created = {subscriptionId: ctx.env.state.subscription(sub)!.subscriptionId, name: rg, location: String(body.location ?? DEFAULT_LOCATION), tags: tagsOf(body.tags)}
  ctx.env.state.data.resourceGroups.push(created)
  return {status: 201, body: rgBody(created)}
}

/**
 * PATCH of a resource group (ResourceGroups_Update): `tags` replaces the group's tags (`{}`
 * clears them), as `az group update --tags` relies on; the location cannot change and is ignored.
 */
export function patchResourceGroup(ctx: ArmCtx): ArmResult {
  const group = ctx.env.state.resourceGroup(ctx.params.sub!, ctx.params.rg!)!
  const body = obj(ctx.body)
  if (body.tags !== undefined && body.tags !== null && (typeof body.tags !== 'object' || Array.isArray(body.tags))) {
    throw armError(400, 'InvalidRequestContent', 'tags must be a JSON object of name/value pairs, e.g. {"tags": {"env": "dev"}}.')
  }
  const tags = tagsOf(body.tags)
  if (tags) group.tags = tags
  return {status: 200, body: rgBody(group)}
}

/** Deletes everything in the group (namespaces drop their listeners) and answers 202 + Location. */
export function deleteResourceGroup(ctx: ArmCtx): ArmResult {
  const {sub, rg} = ctx.params as {sub: string; rg: string}
  const data = ctx.env.state.data
  for (const ns of data.namespaces.filter((n) => eq(n.subscriptionId, sub) && eq(n.resourceGroup, rg))) {
    for (const hc of ns.hybridConnections) ctx.env.runtime.entityDeleted(ns.name, hc.name)
    ctx.env.pendingDeletes.delete(namespaceId(ns).toLowerCase())
  }
  data.namespaces = data.namespaces.filter((n) => !(eq(n.subscriptionId, sub) && eq(n.resourceGroup, rg)))
  data.plans = data.plans.filter((p) => !(eq(p.subscriptionId, sub) && eq(p.resourceGroup, rg)))
  data.sites = data.sites.filter((s) => !(eq(s.subscriptionId, sub) && eq(s.resourceGroup, rg)))
  data.resourceGroups = data.resourceGroups.filter((g) => !(eq(g.subscriptionId, sub) && eq(g.name, rg)))
  const token = Buffer.from(`RESOURCEGROUPDELETIONJOB-${rg.toUpperCase()}-${randomUUID()}`).toString('base64url')
  const location = `${ctx.env.armUrl()}/subscriptions/${sub}/operationresults/${token}?api-version=${ctx.apiVersion}`
  return {status: 202, headers: {location, ...(ctx.env.retryAfterSeconds !== undefined ? {'retry-after': String(ctx.env.retryAfterSeconds)} : {})}}
}

/** Subscription-level operation results (resource group deletion): already done. */
export function subscriptionOperationResult(_ctx: ArmCtx): ArmResult {
  return {status: 200}
}
