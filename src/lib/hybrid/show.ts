import {NotFoundError} from '../errors.js'
import {endpointFor, formatConnectionString} from '../relay/connection-string.js'
import {DEFAULT_LISTENER} from './attach.js'
import {doing, mapLimit, type HybridContext} from './context.js'
import {formatEndpoint, parseEndpointMetadata} from '../relay/endpoint.js'
import {hybridConnectionId} from '../azure/resource-id.js'
import {type AppRef, type AuthorizationRuleInfo, type RelayHybridConnection} from './model.js'
import {validateHybridConnectionName, validateNamespaceName, validateResourceGroupName, validateRuleName} from './naming.js'
import {scanUsages, type RelayUsage} from './usages.js'
import {WebApi} from './web.js'

export interface ShowInput {
  hybridConnection: string
  namespace: string
  resourceGroup: string
  /** Adds the gateway (listener) connection string. */
  showSecrets?: boolean
  /** The Listen rule for the connection string (default defaultListener). */
  rule?: string
}

export interface AppUse {
  app: string
  slot?: string
  resourceGroup: string
  endpoint?: string
  sendKeyName?: string
  /** The app's host:port differs from the relay's endpoint. */
  drift: boolean
}

export interface ShowResult {
  relay: {
    id: string
    namespace: string
    name: string
    resourceGroup: string
    endpoint?: string
    metadataProblem?: string
    userMetadata?: string
    requiresClientAuthorization: boolean
    listenerCount: number
    status: 'Connected' | 'Not connected'
    createdAt?: string
    updatedAt?: string
  }
  rules: AuthorizationRuleInfo[]
  plans: Array<{plan: string; resourceGroup: string; tier?: string; apps: AppUse[]}>
  drift: Array<{app: string; slot?: string; appEndpoint?: string; relayEndpoint?: string}>
  /** Only with showSecrets. */
  gatewayConnectionString?: string
}

/** The users of one relay across every plan of the subscription. */
export async function findUsers(ctx: HybridContext, web: WebApi, rg: string, ns: string, hc: string): Promise<RelayUsage[]> {
  const {usages} = await doing(`finding the apps that use ${ns}/${hc}`, () =>
    scanUsages(ctx, web, {want: (n, h) => n.toLowerCase() === ns.toLowerCase() && h.toLowerCase() === hc.toLowerCase()}),
  )
  return usages.filter((u) => !u.relay || u.relay.resourceGroup.toLowerCase() === rg.toLowerCase())
}

export async function getRelayOrThrow(ctx: HybridContext, rg: string, ns: string, hc: string): Promise<RelayHybridConnection> {
  const found = await doing(`reading the hybrid connection ${ns}/${hc}`, () => ctx.relay.getHybridConnection(rg, ns, hc))
  if (!found) {
    throw new NotFoundError(`The hybrid connection ${ns}/${hc} was not found in resource group ${rg}.`, {
      code: 'HybridConnectionNotFound',
      suggestions: ['Check the name, --namespace and --resource-group (the relay\'s group); `hcctl list --namespace NS --resource-group RG` lists them.'],
    })
  }
  return found
}

export async function show(ctx: HybridContext, input: ShowInput): Promise<ShowResult> {
  validateHybridConnectionName(input.hybridConnection)
  validateNamespaceName(input.namespace)
  validateResourceGroupName(input.resourceGroup)
  const rule = validateRuleName(input.rule ?? DEFAULT_LISTENER, '--rule')
  const {namespace: ns, resourceGroup: rg} = input
  const web = new WebApi(ctx.arm, ctx.subscriptionId, ctx.signal)
  const hc = await getRelayOrThrow(ctx, rg, ns, input.hybridConnection)
  const [rules, usages] = await Promise.all([doing('listing the rules', () => ctx.relay.listRules(rg, ns, hc.name)), findUsers(ctx, web, rg, ns, hc.name)])
  const metadata = parseEndpointMetadata(hc.userMetadata)
  const relayEndpoint = metadata.ok ? formatEndpoint(metadata.endpoint) : undefined
  const plans: ShowResult['plans'] = []
  const drift: ShowResult['drift'] = []
  for (const u of usages) {
    const apps = await mapLimit(u.apps, ctx.concurrency ?? 8, async (app: AppRef): Promise<AppUse> => {
      const item = await doing(`reading the hybrid connection of ${app.app}`, () => web.getSiteRelay(app, ns, hc.name))
      const p = item?.properties
      const endpoint = p?.hostname && p.port ? `${p.hostname}:${p.port}` : undefined
      const isDrift = Boolean(endpoint && relayEndpoint && endpoint.toLowerCase() !== relayEndpoint.toLowerCase())
      if (isDrift) drift.push({app: app.app, ...(app.slot ? {slot: app.slot} : {}), appEndpoint: endpoint, relayEndpoint})
      return {app: app.app, ...(app.slot ? {slot: app.slot} : {}), resourceGroup: app.resourceGroup, ...(endpoint ? {endpoint} : {}), ...(p?.sendKeyName ? {sendKeyName: p.sendKeyName} : {}), drift: isDrift}
    })
    plans.push({plan: u.plan.name, resourceGroup: u.plan.resourceGroup, ...(u.plan.tier ? {tier: u.plan.tier} : {}), apps})
  }
  const result: ShowResult = {
    relay: {
      id: hybridConnectionId({subscriptionId: ctx.subscriptionId, resourceGroup: rg, namespace: ns, hybridConnection: hc.name}),
      namespace: ns,
      name: hc.name,
      resourceGroup: rg,
      ...(relayEndpoint ? {endpoint: relayEndpoint} : {metadataProblem: (metadata as {reason: string}).reason}),
      ...(hc.userMetadata !== undefined ? {userMetadata: hc.userMetadata} : {}),
      requiresClientAuthorization: hc.requiresClientAuthorization,
      listenerCount: hc.listenerCount,
      status: hc.listenerCount > 0 ? 'Connected' : 'Not connected',
      ...(hc.createdAt ? {createdAt: hc.createdAt} : {}),
      ...(hc.updatedAt ? {updatedAt: hc.updatedAt} : {}),
    },
    rules,
    plans,
    drift,
  }
  if (input.showSecrets) result.gatewayConnectionString = await gatewayConnectionString(ctx, rg, ns, hc.name, rule)
  return result
}

/** The connection string an agent (listener) uses; a secret. */
export async function gatewayConnectionString(ctx: HybridContext, rg: string, ns: string, hc: string, rule: string, which: 'primary' | 'secondary' = 'primary'): Promise<string> {
  const existing = await doing(`reading the rule ${rule}`, () => ctx.relay.getRule(rg, ns, hc, rule))
  if (!existing) {
    throw new NotFoundError(`The rule ${rule} does not exist on ${ns}/${hc}.`, {
      code: 'RuleNotFound',
      suggestions: [`\`hcctl create ${hc} --namespace ${ns} --resource-group ${rg} --endpoint HOST:PORT\` creates defaultListener, or pass --rule with an existing Listen rule.`],
    })
  }
  const keys = await doing(`listing the keys of ${rule} on ${ns}/${hc}`, () => ctx.relay.listKeys(rg, ns, hc, rule), {listKeys: true})
  const given = which === 'primary' ? keys.primaryConnectionString : keys.secondaryConnectionString
  if (given) return /;\s*EntityPath=/i.test(given) ? given : `${given.replace(/;+$/, '')};EntityPath=${hc}`
  return formatConnectionString({
    endpoint: endpointFor(`${ns}${ctx.relaySuffix}`),
    sharedAccessKeyName: keys.keyName || rule,
    sharedAccessKey: which === 'primary' ? keys.primaryKey : keys.secondaryKey,
    entityPath: hc,
  })
}
