import type {ArmClient} from '../azure/arm-types.js'
import {type CloudProfile, relayHost} from '../azure/clouds.js'
import {hybridConnectionId} from '../azure/resource-id.js'
import {AuthError, NotFoundError, UsageError} from '../errors.js'
import {credentialsFromKey, type HybridConnectionCredentials} from '../relay/credentials.js'
import {type Endpoint, endpointFromMetadata} from '../relay/endpoint.js'
import {DEFAULT_LISTENER, DEFAULT_SENDER} from './attach.js'
import {relayOf} from './usages.js'
import {WebApi} from './web.js'

/**
 * Management-plane lookups that hand the data plane (agent, forward) ready connection details
 * (arm-surface.md §3, §5, §8): the hybrid connection's endpoint (its userMetadata), the keys of
 * its `defaultListener` / `defaultSender` rule (created with exactly that right when missing, as
 * App Service does), or the Send key an app holds (plan-level listKeys, through WebApi). The
 * Relay side is read with plain ARM calls rather than the Relay SDK, so that an agent starts
 * without loading it. Keys stay in memory; nothing here prints them.
 */
export interface ArmLookupContext {
  arm: ArmClient
  cloud: CloudProfile
  subscriptionId: string
  signal?: AbortSignal
}

export interface ResolvedHybridConnection {
  credentials: HybridConnectionCredentials
  endpoint: Endpoint
}

type Right = 'Listen' | 'Send'

interface AuthorizationRule {
  properties?: {rights?: string[]}
}
interface AccessKeys {
  primaryKey?: string
  keyName?: string
}

/** Listener or sender credentials for `<hc> --namespace NS -g RG`, and the endpoint. */
export async function resolveHybridConnectionByName(
  ctx: ArmLookupContext,
  ref: {namespace: string; name: string; resourceGroup?: string},
  right: Right,
): Promise<ResolvedHybridConnection> {
  if (!ref.resourceGroup) {
    throw new UsageError(`The hybrid connection "${ref.name}" needs --resource-group (the namespace's resource group).`, {code: 'MissingResourceGroup'})
  }
  const scope = {subscriptionId: ctx.subscriptionId, resourceGroup: ref.resourceGroup, namespace: ref.namespace}
  const hcId = hybridConnectionId({...scope, hybridConnection: ref.name})
  const hc = await ctx.arm.get<{properties?: {userMetadata?: string}}>(hcId, {allowNotFound: true, signal: ctx.signal})
  if (!hc) {
    throw new NotFoundError(`The hybrid connection "${ref.name}" was not found in namespace "${ref.namespace}" (resource group ${ref.resourceGroup}).`, {
      code: 'HybridConnectionNotFound',
      suggestions: ['Check the names, or list them with `hcctl list --namespace NS -g RG`.'],
    })
  }
  const endpoint = endpointFromMetadata(hc.properties?.userMetadata)
  // The relay host comes from the cloud profile (the emulator's suffix, a sovereign cloud's).
  const host = relayHost(ctx.cloud, ref.namespace)
  const ruleName = right === 'Listen' ? DEFAULT_LISTENER : DEFAULT_SENDER
  const ruleId = `${hcId}/authorizationRules/${ruleName}`
  const rule = await ctx.arm.get<AuthorizationRule>(ruleId, {allowNotFound: true, signal: ctx.signal})
  const rights = rule?.properties?.rights ?? []
  if (!rule) {
    await ctx.arm.request({method: 'PUT', path: ruleId, body: {properties: {rights: [right]}}, signal: ctx.signal})
  } else if (!rights.includes(right) && !rights.includes('Manage')) {
    throw new AuthError(`The rule "${ruleName}" on hybrid connection "${ref.name}" lacks the ${right} right (it has ${rights.join(', ') || 'none'}).`, {
      code: 'MissingRight',
      suggestions: [`Give ${ruleName} the ${right} right, or use a connection string of a rule that has it.`],
    })
  }
  const keys = (await ctx.arm.request<AccessKeys>({method: 'POST', path: `${ruleId}/listKeys`, idempotent: true, signal: ctx.signal})).body
  if (!keys?.primaryKey) throw new AuthError(`listKeys on the rule "${ruleName}" returned no key.`, {code: 'NoKey'})
  return {credentials: credentialsFromKey({host, entity: ref.name, keyName: keys.keyName ?? ruleName, key: keys.primaryKey}), endpoint}
}

/** Sender credentials for `--app APP -g RG --hc NAME`: the key the app holds (plan-level listKeys). */
export async function resolveAppHybridConnection(ctx: ArmLookupContext, ref: {app: string; resourceGroup?: string; slot?: string; hc: string}): Promise<ResolvedHybridConnection> {
  if (!ref.resourceGroup) throw new UsageError('--app needs --resource-group (the app\'s resource group).', {code: 'MissingResourceGroup'})
  const web = new WebApi(ctx.arm, ctx.subscriptionId, ctx.signal)
  const app = {resourceGroup: ref.resourceGroup, app: ref.app, ...(ref.slot ? {slot: ref.slot} : {})}
  const site = await web.getSite(app)
  if (!site) throw new NotFoundError(`The app "${ref.app}" was not found in resource group ${ref.resourceGroup}.`, {code: 'AppNotFound'})
  const hc = (await web.listSiteRelays(app)).find((i) => relayOf(i)?.name.toLowerCase() === ref.hc.toLowerCase())
  const relay = hc ? relayOf(hc) : undefined
  if (!hc || !relay) {
    throw new NotFoundError(`The app "${ref.app}" has no hybrid connection "${ref.hc}".`, {
      code: 'HybridConnectionNotFound',
      suggestions: [`Attach it first (\`hcctl attach ${ref.hc} --app ${ref.app} ...\`), or list what it has with \`hcctl list --app ${ref.app} -g ${ref.resourceGroup}\`.`],
    })
  }
  const p = hc.properties ?? {}
  const planId = site.properties?.serverFarmId
  if (!planId) throw new NotFoundError(`The app "${ref.app}" has no App Service plan (serverFarmId).`, {code: 'PlanNotFound'})
  const key = await web.listPlanRelayKey(planId, relay.namespace, relay.name)
  const keyName = key?.sendKeyName ?? p.sendKeyName
  const keyValue = key?.sendKeyValue
  if (!keyName || !keyValue) {
    throw new AuthError(`The app "${ref.app}" holds no Send key for "${ref.hc}" (${key ? 'sendKeyValue is empty' : 'the plan\'s listKeys answered 404'}): the app cannot connect either.`, {
      code: 'EmptySendKey',
      suggestions: ['Re-attach the hybrid connection so the app gets the current key (`hcctl attach ...`), then retry.'],
    })
  }
  const suffix = p.serviceBusSuffix || ctx.cloud.relaySuffix
  const host = `${relay.namespace}${suffix.startsWith('.') ? suffix : `.${suffix}`}`.toLowerCase()
  if (!p.hostname || !p.port) throw new UsageError(`The app's hybrid connection "${ref.hc}" has no hostname/port.`, {code: 'InvalidEndpointMetadata'})
  return {credentials: credentialsFromKey({host, entity: relay.name, keyName, key: keyValue}), endpoint: {host: p.hostname, port: p.port}}
}

/** Resolvers for the commands: each builds on an ARM context obtained on first use. */
export function armResolvers(getContext: () => Promise<{arm: ArmClient; cloud: CloudProfile; subscriptionId: string}>, signal?: AbortSignal) {
  const ctx = async (subscription?: string): Promise<ArmLookupContext> => {
    const c = await getContext()
    return {arm: c.arm, cloud: c.cloud, subscriptionId: subscription ?? c.subscriptionId, signal}
  }
  return {
    listener: async (s: {name: string; namespace: string; resourceGroup?: string; subscription?: string}) => resolveHybridConnectionByName(await ctx(s.subscription), s, 'Listen'),
    sender: async (s: {name: string; namespace: string; resourceGroup?: string; subscription?: string}) => resolveHybridConnectionByName(await ctx(s.subscription), s, 'Send'),
    app: async (s: {app: string; resourceGroup?: string; slot?: string; hc: string; subscription?: string}) => resolveAppHybridConnection(await ctx(s.subscription), s),
  }
}
