import {NotFoundError, UsageError} from '../errors.js'
import {doing, mapLimit, type HybridContext} from './context.js'
import {formatEndpoint, parseEndpointMetadata} from '../relay/endpoint.js'
import {serverfarmId, tryParseHybridConnectionId, tryParseRelayNamespaceId} from '../azure/resource-id.js'
import {type AppRef, type RelayHybridConnection} from './model.js'
import {validateAppName, validateNamespaceName, validatePlanName, validateResourceGroupName, validateSlotName} from './naming.js'
import {relayKey} from './plan.js'
import {type RelayUsage, relayOf, scanUsages} from './usages.js'
import {WebApi} from './web.js'

export type ListScope = 'app' | 'plan' | 'namespace' | 'subscription'

export interface ListInput {
  resourceGroup?: string
  app?: string
  slot?: string
  plan?: string
  namespace?: string
  relayResourceGroup?: string
}

export type RelayStatus = 'Connected' | 'Not connected' | 'Unknown'

export interface ListRow {
  app?: string
  slot?: string
  appResourceGroup?: string
  plan?: string
  namespace: string
  hybridConnection: string
  relayResourceGroup?: string
  /** host:port the app uses. */
  endpoint?: string
  /** host:port in the relay metadata, when it differs from the app's (drift). */
  relayEndpoint?: string
  status: RelayStatus
  listenerCount?: number
  sendKeyName?: string
}

export interface ListResult {
  scope: ListScope
  rows: ListRow[]
}

export function scopeOf(input: ListInput): ListScope {
  const given = [input.app && 'app', input.plan && 'plan', input.namespace && 'namespace'].filter(Boolean)
  if (given.length > 1) throw new UsageError(`Give one scope: --app, --plan or --namespace (got ${given.join(' and ')}).`, {code: 'UsageError'})
  if (input.slot && !input.app) throw new UsageError('--slot needs --app.', {code: 'UsageError'})
  const scope = (given[0] as ListScope | undefined) ?? 'subscription'
  if (scope !== 'subscription' && !input.resourceGroup) throw new UsageError(`--${scope} needs --resource-group.`, {code: 'UsageError'})
  return scope
}

/** Reads each namespace's hybrid connections once (listener counts and metadata). */
async function relayIndex(ctx: HybridContext, namespaces: Array<{rg: string; ns: string}>): Promise<Map<string, RelayHybridConnection | null>> {
  const distinct = new Map<string, {rg: string; ns: string}>()
  for (const n of namespaces) distinct.set(`${n.rg.toLowerCase()}/${n.ns.toLowerCase()}`, n)
  const index = new Map<string, RelayHybridConnection | null>()
  await mapLimit([...distinct.values()], ctx.concurrency ?? 8, async ({rg, ns}) => {
    try {
      for (const hc of await ctx.relay.listHybridConnections(rg, ns)) index.set(`${rg.toLowerCase()}/${relayKey(ns, hc.name)}`, hc)
    } catch {
      // A namespace we cannot read (deleted, no access): its rows say Unknown.
    }
  })
  return index
}

function status(hc: RelayHybridConnection | null | undefined): {status: RelayStatus; listenerCount?: number} {
  if (!hc) return {status: 'Unknown'}
  return {status: hc.listenerCount > 0 ? 'Connected' : 'Not connected', listenerCount: hc.listenerCount}
}

function relayEndpointOf(hc: RelayHybridConnection | null | undefined): string | undefined {
  const m = parseEndpointMetadata(hc?.userMetadata)
  return m.ok ? formatEndpoint(m.endpoint) : undefined
}

function rowsFromUsages(usages: RelayUsage[], index: Map<string, RelayHybridConnection | null>): ListRow[] {
  const rows: ListRow[] = []
  for (const u of usages) {
    const relayRg = u.relay?.resourceGroup
    const hc = relayRg ? index.get(`${relayRg.toLowerCase()}/${relayKey(u.namespace, u.name)}`) : undefined
    const endpoint = u.hostname && u.port ? `${u.hostname}:${u.port}` : undefined
    const relayEndpoint = relayEndpointOf(hc)
    const apps: Array<AppRef | undefined> = u.apps.length > 0 ? u.apps : [undefined]
    for (const app of apps) {
      rows.push({
        ...(app ? {app: app.app, ...(app.slot ? {slot: app.slot} : {}), appResourceGroup: app.resourceGroup} : {}),
        plan: u.plan.name,
        namespace: u.namespace,
        hybridConnection: u.name,
        ...(relayRg ? {relayResourceGroup: relayRg} : {}),
        ...(endpoint ? {endpoint} : {}),
        ...(relayEndpoint && endpoint && relayEndpoint.toLowerCase() !== endpoint.toLowerCase() ? {relayEndpoint} : {}),
        ...status(hc),
        ...(u.sendKeyName ? {sendKeyName: u.sendKeyName} : {}),
      })
    }
  }
  return rows
}

/**
 * Lists hybrid connections in one scope. The subscription scope reads the plans (paged), each
 * plan's relays once, the apps of each (plan, relay) pair and each namespace's connections
 * once, in parallel with a bound: requests grow with plans and namespaces, not with apps.
 */
export async function list(ctx: HybridContext, input: ListInput): Promise<ListResult> {
  const scope = scopeOf(input)
  const web = new WebApi(ctx.arm, ctx.subscriptionId, ctx.signal)
  if (input.resourceGroup) validateResourceGroupName(input.resourceGroup)
  if (scope === 'app') {
    validateAppName(input.app)
    if (input.slot) validateSlotName(input.slot)
    const ref: AppRef = {resourceGroup: input.resourceGroup!, app: input.app!, ...(input.slot ? {slot: input.slot} : {})}
    // Both requests at once (one round trip instead of two); a missing app is said from the
    // app's own answer, whatever the list answered.
    const [site, listed] = await Promise.all([
      doing(`reading the app ${input.app}`, () => web.getSite(ref)),
      doing(`listing the hybrid connections of ${input.app}`, () => web.listSiteRelays(ref)).then(
        (items) => ({items}),
        (error: unknown) => ({error}),
      ),
    ])
    if (!site) throw new NotFoundError(`The app ${input.app}${input.slot ? ` (slot ${input.slot})` : ''} was not found in resource group ${input.resourceGroup}.`, {code: 'AppNotFound'})
    if ('error' in listed) throw listed.error
    const {items} = listed
    const refs = items.map((i) => ({item: i, relay: relayOf(i), id: i.properties?.relayArmUri ? tryParseHybridConnectionId(i.properties.relayArmUri) : undefined}))
    const index = await relayIndex(ctx, refs.filter((r) => r.id).map((r) => ({rg: r.id!.resourceGroup, ns: r.id!.namespace})))
    const rows = refs
      .filter((r) => r.relay)
      .map(({item, relay, id}) =>
        rowsFromUsages(
          [{plan: {id: '', name: '', resourceGroup: ''}, namespace: relay!.namespace, name: relay!.name, ...(id ? {relay: id} : {}), hostname: item.properties?.hostname, port: item.properties?.port, sendKeyName: item.properties?.sendKeyName, apps: [ref]}],
          index,
        ).map(({plan: _plan, ...row}) => row),
      )
      .flat()
    return {scope, rows}
  }
  if (scope === 'plan') {
    validatePlanName(input.plan)
    const path = serverfarmId({subscriptionId: ctx.subscriptionId, resourceGroup: input.resourceGroup!, plan: input.plan!})
    const plan = await doing(`reading the plan ${input.plan}`, () => web.getPlan(path))
    if (!plan) throw new NotFoundError(`The App Service plan ${input.plan} was not found in resource group ${input.resourceGroup}.`, {code: 'PlanNotFound'})
    const {usages} = await doing(`listing the hybrid connections of plan ${input.plan}`, () => scanUsages(ctx, web, {plans: [{...plan, id: plan.id || path, name: plan.name || input.plan!}]}))
    const index = await relayIndex(ctx, usages.filter((u) => u.relay).map((u) => ({rg: u.relay!.resourceGroup, ns: u.namespace})))
    return {scope, rows: rowsFromUsages(usages, index)}
  }
  if (scope === 'namespace') {
    validateNamespaceName(input.namespace)
    const rg = input.relayResourceGroup ?? input.resourceGroup!
    const ns = input.namespace!
    const hcs = await doing(`listing the hybrid connections of namespace ${ns}`, () => ctx.relay.listHybridConnections(rg, ns))
    const {usages} = await doing('finding the apps that use them', () =>
      scanUsages(ctx, web, {want: (n) => n.toLowerCase() === ns.toLowerCase()}),
    )
    const mine = usages.filter((u) => !u.relay || u.relay.resourceGroup.toLowerCase() === rg.toLowerCase())
    const index = new Map<string, RelayHybridConnection | null>(hcs.map((h) => [`${rg.toLowerCase()}/${relayKey(ns, h.name)}`, h]))
    for (const u of mine) if (!u.relay) u.relay = {subscriptionId: ctx.subscriptionId, resourceGroup: rg, namespace: ns, hybridConnection: u.name}
    const rows = rowsFromUsages(mine, index)
    for (const h of hcs) {
      if (mine.some((u) => u.name.toLowerCase() === h.name.toLowerCase())) continue
      const relayEndpoint = relayEndpointOf(h)
      rows.push({namespace: ns, hybridConnection: h.name, relayResourceGroup: rg, ...(relayEndpoint ? {endpoint: relayEndpoint} : {}), ...status(h)})
    }
    return {scope, rows}
  }
  // Every hybrid connection lives in a namespace, so the namespaces of the subscription and
  // their connections are the complete list; the plans add which apps use which (attached ones
  // whose namespace is not in this subscription still come from the plans).
  const [{usages}, namespaces] = await Promise.all([
    doing('listing the hybrid connections of the subscription', () => scanUsages(ctx, web)),
    doing('listing the relay namespaces of the subscription', () => ctx.relay.listNamespaces()),
  ])
  const all = namespaces.flatMap((n) => {
    const ref = tryParseRelayNamespaceId(n.id)
    return ref ? [{rg: ref.resourceGroup, ns: n.name || ref.namespace}] : []
  })
  const index = await relayIndex(ctx, [...all, ...usages.filter((u) => u.relay).map((u) => ({rg: u.relay!.resourceGroup, ns: u.namespace}))])
  const rows = rowsFromUsages(usages, index)
  const used = new Set(usages.filter((u) => u.relay).map((u) => `${u.relay!.resourceGroup.toLowerCase()}/${relayKey(u.namespace, u.name)}`))
  const names = new Map(all.map((n) => [`${n.rg}/${n.ns}`.toLowerCase(), n]))
  for (const [key, h] of index) {
    const where = names.get(key.split('/').slice(0, 2).join('/'))
    if (!h || !where || used.has(key)) continue
    const relayEndpoint = relayEndpointOf(h)
    rows.push({namespace: where.ns, hybridConnection: h.name, relayResourceGroup: where.rg, ...(relayEndpoint ? {endpoint: relayEndpoint} : {}), ...status(h)})
  }
  return {scope, rows}
}
