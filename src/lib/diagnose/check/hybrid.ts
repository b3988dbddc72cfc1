import type {ArmClient} from '../../azure/arm-types.js'
import {hostConcern, hostConcernMessage} from '../../hybrid/endpoint.js'
import {type Endpoint, formatEndpoint, parseEndpointMetadata} from '../../relay/endpoint.js'
import {tryParseHybridConnectionId, tryParseServerfarmId} from '../../azure/resource-id.js'
import type {AppRef, PlanInfo, RelayHybridConnection, SiteInfo, WebHybridConnection} from '../../hybrid/model.js'
import {relayKey, tierFromSkuName, tierRule, type TierRule} from '../../hybrid/plan.js'
import {type RelayPort, statusOf} from '../../hybrid/relay-port.js'
import {relayOf} from '../../hybrid/usages.js'
import type {WebApi} from '../../hybrid/web.js'
import {redactText} from '../../output/redact.js'
import {type CheckDefinition, fail, pass, skip, warn} from './types.js'

/** The permission a Reader lacks (product docs, "Secure your Hybrid Connections"). */
export const RELAY_LIST_KEYS_PERMISSION = 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules/listKeys/action'
export const PLAN_LIST_KEYS_PERMISSION = 'Microsoft.Web/serverfarms/hybridConnectionNamespaces/relays/listKeys/action'

/** App-level facts, shared by the app checks and every hybrid connection's checks. */
export interface AppFacts {
  ref: AppRef
  site?: SiteInfo
  plan?: PlanInfo
  planId?: string
  tier?: TierRule
  linux?: boolean
  relays?: WebHybridConnection[]
}

export interface AppContext {
  web: WebApi
  app: AppFacts
  /** Only these hybrid connections (namespace/name, lower case), when the user named one. */
  only?: string
}

const label = (a: AppRef) => (a.slot ? `${a.app}/${a.slot}` : a.app)

export const appExists: CheckDefinition<AppContext> = {
  id: 'app.exists',
  title: 'The app exists',
  async run(c) {
    const a = c.app.ref
    const site = await c.web.getSite(a)
    if (!site) {
      return fail(
        `no app ${label(a)} in resource group ${a.resourceGroup}`,
        `Check --app, --slot and --resource-group (the app's own group): \`az webapp list -g ${a.resourceGroup} -o table\`.`,
      )
    }
    c.app.site = site
    const kind = (site.kind ?? 'app').toLowerCase()
    c.app.linux = kind.includes('linux') || site.properties?.reserved === true
    c.app.planId = site.properties?.serverFarmId
    return pass(`${site.name} (kind ${site.kind ?? 'app'}${c.app.linux ? ', Linux' : ''})`, {kind: site.kind, linux: c.app.linux})
  },
}

export const appPlanEligible: CheckDefinition<AppContext> = {
  id: 'app.plan-eligible',
  title: 'The plan supports hybrid connections',
  dependsOn: ['app.exists'],
  async run(c) {
    const site = c.app.site!
    const kind = (site.kind ?? '').toLowerCase()
    if (kind.includes('container') && !kind.includes('linux') && !kind.includes('functionapp')) {
      return fail(`${site.name} is a Windows custom container`, 'App Service does not support hybrid connections for Windows custom containers; use a Windows code app or a Linux app.')
    }
    const planRef = c.app.planId ? tryParseServerfarmId(c.app.planId) : undefined
    if (!planRef) return fail('the app reports no App Service plan (serverFarmId)', 'Check the app in the portal; an app without a plan cannot use hybrid connections.')
    const plan = await c.web.getPlan(c.app.planId!)
    if (!plan) return fail(`plan ${planRef.plan} (${planRef.resourceGroup}) not found`, 'The app points at a plan that does not exist; check the app\'s plan.')
    c.app.plan = plan
    const tierName = plan.sku?.tier ?? tierFromSkuName(plan.sku?.name) ?? site.properties?.sku
    const tier = tierRule(tierName)
    c.app.tier = tier
    const sku = `${plan.name}: ${tierName ?? '?'}${plan.sku?.name ? ` (${plan.sku.name})` : ''}`
    const siteSku = (site.properties?.sku ?? '').toLowerCase()
    if (!tier.eligible || siteSku === 'dynamic' || siteSku === 'flexconsumption') {
      return fail(
        [sku, tier.reason ?? 'this tier does not support hybrid connections'],
        `Scale the plan up to Basic, Standard, Premium or Isolated (e.g. \`az appservice plan update -g ${planRef.resourceGroup} -n ${planRef.plan} --sku B1\`), or move the app to such a plan.`,
        {tier: tierName},
      )
    }
    if (tier.reason) return warn([sku, tier.reason], 'hcctl does not know this tier; if hybrid connections fail, check the plan tier in the portal.', {tier: tierName})
    return pass(sku, {tier: tierName, limitScope: tier.scope, maximum: tier.maximum})
  },
}

export const appPlanLimit: CheckDefinition<AppContext> = {
  id: 'app.plan-limit',
  title: 'Hybrid connections within the plan limit',
  dependsOn: ['app.plan-eligible'],
  async run(c) {
    const planId = c.app.plan!.id || c.app.planId!
    const tier = c.app.tier!
    const scope = tier.scope ?? 'plan'
    const where = scope === 'plan' ? `plan ${c.app.plan!.name}` : `app ${label(c.app.ref)}`
    let limit
    let items
    try {
      limit = await c.web.getPlanLimit(planId)
      items = scope === 'app' ? await c.web.listSiteRelays({...c.app.ref, slot: undefined}) : await c.web.listPlanRelays(planId)
    } catch (error) {
      const status = statusOf(error)
      if (status !== 404 && !forbidden(error)) throw error
      return skip(
        [`the hybrid connections in the ${where} could not be counted: the service answered ${status} (${redactText((error as Error).message).slice(0, 200)})`, 'the limit was not compared'],
        {status},
      )
    }
    const counted = new Set(items.map((i) => relayOf(i)).filter((r) => r !== undefined).map((r) => relayKey(r.namespace, r.name)))
    const maximum = limit?.maximum ?? tier.maximum
    const current = Math.max(counted.size, scope === 'plan' ? (limit?.current ?? 0) : 0)
    const data = {current, maximum, scope}
    if (maximum === undefined) return pass(`${current} in use in the ${where}; the service reports no maximum`, data)
    const evidence = `${current} of ${maximum} in use in the ${where}`
    if (current > maximum) {
      return fail(evidence, `The ${where} uses more hybrid connections than its tier allows; disconnect the ones no app needs (\`hcctl disconnect\`) or scale the plan up.`, data)
    }
    if (current === maximum) return warn(evidence, 'The limit is reached: attaching another hybrid connection will fail. Disconnect unused ones or scale the plan up.', data)
    return pass(evidence, data)
  },
}

export const appHybridConnections: CheckDefinition<AppContext> = {
  id: 'app.hybrid-connections',
  title: 'The app has hybrid connections',
  dependsOn: ['app.exists'],
  async run(c) {
    const all = await c.web.listSiteRelays(c.app.ref)
    const named = all.map((r) => ({r, key: relayOf(r)}))
    const chosen = c.only ? named.filter((x) => x.key && relayKey(x.key.namespace, x.key.name) === c.only) : named
    c.app.relays = chosen.map((x) => x.r)
    const names = named.map((x) => (x.key ? `${x.key.namespace}/${x.key.name}` : x.r.name))
    if (all.length === 0) {
      return fail(
        `${label(c.app.ref)} has no hybrid connections`,
        `Attach one: \`hcctl attach HC --namespace NS --app ${c.app.ref.app} --resource-group ${c.app.ref.resourceGroup}\`.`,
      )
    }
    if (chosen.length === 0) {
      return fail(
        [`${label(c.app.ref)} does not use ${c.only}`, `it uses ${names.join(', ')}`],
        `Attach it: \`hcctl attach ${c.only!.split('/')[1]} --namespace ${c.only!.split('/')[0]} --app ${c.app.ref.app} --resource-group ${c.app.ref.resourceGroup}\`, or check the name.`,
      )
    }
    return pass(names.join(', '), {hybridConnections: names})
  },
}

export const APP_CHECKS: Array<CheckDefinition<AppContext>> = [appExists, appPlanEligible, appPlanLimit, appHybridConnections]

// ---------------------------------------------------------------------------------------------
// Per hybrid connection

export interface HybridContext {
  web?: WebApi
  relay: RelayPort
  arm: ArmClient
  subscriptionId: string
  /** The app (when checking an app), with facts from the app checks. */
  app?: AppFacts
  /** The app's Web resource for this hybrid connection (app mode). */
  webRelay?: WebHybridConnection
  /** Where the relay lives. */
  relayRef: {resourceGroup: string; namespace: string; name: string}
  relayHc?: RelayHybridConnection
  endpoint?: Endpoint
  sendKey?: {name: string; value: string; source: string}
  listenerCount?: number
  names: {agent: string; endpointSet: string; attach: string; rotate: string}
}

const hcName = (c: HybridContext) => `${c.relayRef.namespace}/${c.relayRef.name}`

export const configWebResource: CheckDefinition<HybridContext> = {
  id: 'config.web-resource',
  title: 'The app\'s hybrid connection resource',
  async run(c) {
    const w = c.webRelay!
    const p = w.properties ?? {}
    const problems: string[] = []
    if (!p.relayArmUri || !tryParseHybridConnectionId(p.relayArmUri)) problems.push('relayArmUri is missing or not a Relay hybrid connection id')
    if (!p.hostname || !p.port) problems.push('hostname/port is missing')
    if (!p.sendKeyName) problems.push('sendKeyName is missing')
    const evidence = [`${w.name}: ${p.hostname ?? '?'}:${p.port ?? '?'} via ${p.serviceBusNamespace ?? '?'}${p.serviceBusSuffix ?? ''}, key ${p.sendKeyName ?? '?'}`]
    if (problems.length > 0) return fail([...evidence, ...problems], `Re-attach it: \`${c.names.attach}\` (it writes every field App Service needs).`)
    return pass(evidence, {hostname: p.hostname, port: p.port, sendKeyName: p.sendKeyName})
  },
}

export const configRelayExists: CheckDefinition<HybridContext> = {
  id: 'config.relay-exists',
  title: 'The relay hybrid connection exists',
  async run(c) {
    const {resourceGroup, namespace, name} = c.relayRef
    const hc = await c.relay.getHybridConnection(resourceGroup, namespace, name)
    if (!hc) {
      return fail(
        `no hybrid connection ${name} in namespace ${namespace} (resource group ${resourceGroup})`,
        `Create it with its endpoint: \`hcctl create ${name} --namespace ${namespace} --resource-group ${resourceGroup} --endpoint HOST:PORT\`${c.app ? ', then re-attach it' : ''}.`,
      )
    }
    c.relayHc = hc
    c.listenerCount = hc.listenerCount
    return pass(`${namespace}/${hc.name} in ${resourceGroup}`)
  },
}

export const configClientAuthorization: CheckDefinition<HybridContext> = {
  id: 'config.client-authorization',
  title: 'Requires client authorization',
  dependsOn: ['config.relay-exists'],
  async run(c) {
    if (c.relayHc!.requiresClientAuthorization) return pass('requiresClientAuthorization is true')
    return fail(
      'requiresClientAuthorization is false',
      `App Service only uses hybrid connections that require client authorization, and it cannot be changed in place: delete the hybrid connection and re-create it with \`hcctl create ${c.relayRef.name} --namespace ${c.relayRef.namespace} --resource-group ${c.relayRef.resourceGroup} --endpoint HOST:PORT\`.`,
    )
  },
}

export const configMetadata: CheckDefinition<HybridContext> = {
  id: 'config.metadata',
  title: 'Endpoint metadata',
  dependsOn: ['config.relay-exists'],
  async run(c) {
    const parsed = parseEndpointMetadata(c.relayHc!.userMetadata)
    if (!parsed.ok) {
      return fail(
        [`hybrid connection ${hcName(c)}: ${parsed.reason}`],
        `Set the endpoint: \`${c.names.endpointSet}\` (it writes [{"key":"endpoint","value":"HOST:PORT"}], the form App Service and the agents read).`,
        {problem: parsed.problem},
      )
    }
    c.endpoint = parsed.endpoint
    return pass(`endpoint ${formatEndpoint(parsed.endpoint)}`, {endpoint: formatEndpoint(parsed.endpoint)})
  },
}

export const configEndpointMatch: CheckDefinition<HybridContext> = {
  id: 'config.endpoint-match',
  title: 'App and relay agree on host:port',
  dependsOn: ['config.web-resource', 'config.metadata'],
  async run(c) {
    const p = c.webRelay!.properties
    const app = {host: p.hostname ?? '', port: Number(p.port)}
    const relay = c.endpoint!
    const evidence = [`app ${formatEndpoint(app)}, relay ${formatEndpoint(relay)}`]
    if (app.host.toLowerCase() === relay.host.toLowerCase() && app.port === relay.port) return pass(evidence)
    return fail(
      [...evidence, 'the app redirects one host:port while the agents connect to another'],
      `Make them agree: \`${c.names.endpointSet}\` sets the relay's endpoint and updates the apps that use it (App Service only picks up a changed endpoint when the hybrid connection is re-attached).`,
      {app: formatEndpoint(app), relay: formatEndpoint(relay)},
    )
  },
}

export const configEndpointHost: CheckDefinition<HybridContext> = {
  id: 'config.endpoint-host',
  title: 'The endpoint host is a DNS name',
  dependsOn: ['config.metadata'],
  async run(c) {
    const e = c.endpoint!
    const concern = hostConcern(e.host)
    if (!concern) return pass(`${e.host} is a DNS name`)
    const linux = c.app?.linux === true
    const message = hostConcernMessage(e, concern)
    const remedy = `Use a DNS name that the agent host resolves (e.g. the database server's name): \`${c.names.endpointSet}\`.`
    if (concern === 'localhost' && !linux && c.app) return warn([message], remedy, {concern})
    if (concern === 'localhost' && !c.app) return warn([message], remedy, {concern})
    return fail([message + (concern === 'localhost' ? ' This app runs on Linux.' : '')], remedy, {concern})
  },
}

function forbidden(error: unknown): boolean {
  const s = statusOf(error)
  return s === 401 || s === 403
}

async function ruleKeys(c: HybridContext, rule: string): Promise<{primaryKey: string; secondaryKey: string; scope: string} | undefined> {
  const {resourceGroup, namespace, name} = c.relayRef
  try {
    const k = await c.relay.listKeys(resourceGroup, namespace, name, rule)
    return {primaryKey: k.primaryKey, secondaryKey: k.secondaryKey, scope: `rule ${rule} of the hybrid connection`}
  } catch (error) {
    if (statusOf(error) !== 404) throw error
  }
  // Terraform's default is a namespace-level rule (RootManageSharedAccessKey).
  try {
    const r = await c.arm.request<{primaryKey?: string; secondaryKey?: string}>({
      method: 'POST',
      path: `/subscriptions/${c.subscriptionId}/resourceGroups/${encodeURIComponent(resourceGroup)}/providers/Microsoft.Relay/namespaces/${encodeURIComponent(namespace)}/authorizationRules/${encodeURIComponent(rule)}/listKeys`,
      idempotent: true,
    })
    return {primaryKey: r.body?.primaryKey ?? '', secondaryKey: r.body?.secondaryKey ?? '', scope: `namespace rule ${rule}`}
  } catch (error) {
    if (statusOf(error) === 404) return undefined
    throw error
  }
}

export const keysMatch: CheckDefinition<HybridContext> = {
  id: 'keys.match',
  title: 'The app\'s key is current',
  dependsOn: ['config.relay-exists'],
  async run(c) {
    const {namespace, name} = c.relayRef
    if (!c.app) {
      // No app: find a Send rule for the round trip.
      let rules
      try {
        rules = await c.relay.listRules(c.relayRef.resourceGroup, namespace, name)
      } catch (error) {
        if (forbidden(error)) return skip(`not allowed to read the rules: ${redactText((error as Error).message).slice(0, 200)}`)
        throw error
      }
      const send = rules.find((r) => r.rights.includes('Send')) ?? rules.find((r) => r.rights.includes('Manage'))
      if (!send) {
        return fail(`${hcName(c)} has no rule with the Send right`, `Create one: \`${c.names.attach}\` creates defaultSender, or add a Send rule in the Relay blade.`)
      }
      let keys
      try {
        keys = await ruleKeys(c, send.name)
      } catch (error) {
        if (forbidden(error)) return skip([`the signed-in principal lacks ${RELAY_LIST_KEYS_PERMISSION}`, 'no key to test the round trip with'], {permission: RELAY_LIST_KEYS_PERMISSION})
        throw error
      }
      if (!keys?.primaryKey) return fail(`rule ${send.name} has no key`, 'Regenerate its keys in the Relay blade or with `hcctl keys rotate`.')
      c.sendKey = {name: send.name, value: keys.primaryKey, source: `rule ${send.name} (no --app: the relay's own Send rule)`}
      return pass(`no --app given: the round trip uses rule ${send.name}`, {keyName: send.name})
    }
    const web = c.webRelay!.properties
    const keyName = web.sendKeyName ?? ''
    let current
    try {
      current = await ruleKeys(c, keyName)
    } catch (error) {
      if (forbidden(error)) {
        return skip(
          [`the signed-in principal lacks ${RELAY_LIST_KEYS_PERMISSION} (Reader can see hybrid connections but not their keys)`, 'the app\'s key was not compared and the round trip cannot run'],
          {permission: RELAY_LIST_KEYS_PERMISSION},
        )
      }
      throw error
    }
    if (!current) {
      return fail(`the app uses rule ${keyName}, which exists neither on ${hcName(c)} nor on the namespace`, `Re-attach with a Send rule that exists: \`${c.names.attach}\` (it creates defaultSender).`)
    }
    let appKey
    try {
      appKey = await c.web!.listPlanRelayKey(c.app.plan?.id ?? c.app.planId!, namespace, name)
    } catch (error) {
      if (forbidden(error)) {
        return skip([`the signed-in principal lacks ${PLAN_LIST_KEYS_PERMISSION}`, 'the app\'s key was not compared and the round trip cannot run'], {permission: PLAN_LIST_KEYS_PERMISSION})
      }
      throw error
    }
    if (!appKey) {
      const planName = c.app.plan?.name ?? tryParseServerfarmId(c.app.planId ?? '')?.plan ?? 'of the app'
      return skip(
        [`the app's key for rule ${keyName} could not be read: the plan's listKeys for ${hcName(c)} (plan ${planName}) answered 404 Not Found`, 'the app\'s key was not compared and the round trip cannot run'],
        {keyName},
      )
    }
    const value = appKey.sendKeyValue ?? ''
    if (!value) {
      return fail(
        [`the app's key for rule ${keyName} is empty (the portal can still show "Connected")`],
        `Give the app the key: \`${c.names.attach}\` re-attaches with the current key, or \`${c.names.rotate}\` rotates and updates every app.`,
      )
    }
    if (value === current.primaryKey || value === current.secondaryKey) {
      const which = value === current.primaryKey ? 'primary' : 'secondary'
      c.sendKey = {name: keyName, value, source: `the app's own key (${keyName}, ${which})`}
      return pass(`matches the ${which} key of ${current.scope}`, {keyName, matches: which})
    }
    return fail(
      [`the app's key for rule ${keyName} matches neither current key of ${current.scope} (regenerated since the app was attached?)`],
      `Update the app's key: \`${c.names.rotate}\` (rotates safely and updates every app), or \`${c.names.attach}\` to re-attach with the current key.`,
      {keyName},
    )
  },
}

export const listenerConnected: CheckDefinition<HybridContext> = {
  id: 'listener.connected',
  title: 'An agent is listening',
  dependsOn: ['config.relay-exists'],
  async run(c) {
    const n = c.relayHc!.listenerCount
    if (n > 0) return pass(`listenerCount ${n}`, {listenerCount: n})
    return fail(
      ['listenerCount 0: no agent is connected (the portal shows "Not connected")'],
      `Start an agent on a machine that can reach the endpoint: \`${c.names.agent}\` (or restart the Hybrid Connection Manager service), then run this check again.`,
      {listenerCount: 0},
    )
  },
}

export const listenerRedundancy: CheckDefinition<HybridContext> = {
  id: 'listener.redundancy',
  title: 'More than one agent (redundancy)',
  dependsOn: ['listener.connected'],
  async run(c) {
    const n = c.relayHc!.listenerCount
    if (n > 1) return pass(`${n} agents share the connections`, {listenerCount: n})
    return warn(
      'one agent serves this hybrid connection: no redundancy',
      `Run a second agent on another machine (\`${c.names.agent}\`); the relay spreads connections over all agents at random.`,
      {listenerCount: n},
    )
  },
}

/** The configuration, key and listener checks of one hybrid connection, for an app or for the relay alone. */
export function hybridChecks(withApp: boolean): Array<CheckDefinition<HybridContext>> {
  const keys: CheckDefinition<HybridContext> = withApp ? {...keysMatch, dependsOn: ['config.web-resource', 'config.relay-exists']} : {...keysMatch, title: 'A Send key for the round trip'}
  return withApp
    ? [configWebResource, configRelayExists, configClientAuthorization, configMetadata, configEndpointMatch, configEndpointHost, keys, listenerConnected, listenerRedundancy]
    : [configRelayExists, configClientAuthorization, configMetadata, configEndpointHost, keys, listenerConnected, listenerRedundancy]
}
