import {CheckFailedError, ConflictError, NotFoundError, UsageError} from '../errors.js'
import {Run, doing, type HybridContext} from './context.js'
import {hostConcern, hostConcernMessage} from './endpoint.js'
import {type Endpoint, formatEndpoint, parseEndpointMetadata} from '../relay/endpoint.js'
import {authorizationRuleId, hybridConnectionId, siteId, tryParseHybridConnectionId, tryParseServerfarmId} from '../azure/resource-id.js'
import {type AccessKeys, type AppRef, type AuthorizationRuleInfo, appLabel, type PlanInfo, siteRefOf, type ProvisioningOutcome, type RelayHybridConnection, type SiteInfo} from './model.js'
import {validateAppName, validateHybridConnectionName, validateNamespaceName, validateResourceGroupName, validateRuleName, validateSlotName} from './naming.js'
import {type LimitDecision, type TierRule, decideLimit, relayKey, tierFromSkuName, tierRule} from './plan.js'
import {relayOf} from './usages.js'
import {WebApi, type WebRelayBody} from './web.js'

export const DEFAULT_SENDER = 'defaultSender'
export const DEFAULT_LISTENER = 'defaultListener'

export interface AttachInput {
  hybridConnection: string
  namespace: string
  app: string
  slot?: string
  /** The app's resource group. */
  resourceGroup: string
  /** The relay's resource group (default: the app's). */
  relayResourceGroup?: string
  /** The Send rule the app uses (default defaultSender). */
  keyName?: string
  /** Create the Send rule when it is missing (default true). */
  createRule?: boolean
  /** IP or localhost endpoints are errors instead of warnings. */
  strict?: boolean
  /** host:port the caller expects (from --from-file); must match the relay's endpoint. */
  expectedEndpoint?: Endpoint
  /** The relay's subscription (from --from-file's relayArmUri); only the current one is supported. */
  relaySubscriptionId?: string
}

export interface AttachResult extends ProvisioningOutcome {
  app: {name: string; slot?: string; resourceGroup: string; kind?: string; id: string}
  plan: {name: string; resourceGroup: string; tier: string; current: number; maximum: number; scope: string; alreadyCounted: boolean}
  relay: {id: string; namespace: string; name: string; resourceGroup: string; endpoint: string}
  keyName: string
  webResourceId: string
}

/** The app side, checked before anything is written. */
export interface AppCheck {
  ref: AppRef
  site: SiteInfo
  plan: PlanInfo
  planRef: {resourceGroup: string; plan: string}
  tier: TierRule
  linux: boolean
}

export async function checkApp(run: Run, web: WebApi, ref: AppRef): Promise<AppCheck> {
  const label = appLabel(ref)
  const site = await doing(`reading the app ${label}`, () => web.getSite(ref))
  if (!site) {
    if (ref.slot) {
      const parent = await doing(`reading the app ${ref.app}`, () => web.getSite({resourceGroup: ref.resourceGroup, app: ref.app}))
      if (parent) {
        throw new NotFoundError(`The app ${ref.app} has no slot "${ref.slot}".`, {code: 'SlotNotFound', suggestions: [`List its slots with \`az webapp deployment slot list -g ${ref.resourceGroup} -n ${ref.app}\`, or leave out --slot for the production slot.`]})
      }
    }
    throw new NotFoundError(`The app ${ref.app} was not found in resource group ${ref.resourceGroup}.`, {
      code: 'AppNotFound',
      suggestions: ['Check --app and --resource-group (the app\'s group; use --relay-resource-group when the relay lives elsewhere).'],
    })
  }
  const kind = (site.kind ?? '').toLowerCase()
  if (kind.includes('container') && !kind.includes('linux') && !kind.includes('functionapp')) {
    throw new ConflictError(`The app ${label} is a Windows custom container; App Service does not support hybrid connections there.`, {code: 'AppNotEligible'})
  }
  const farmId = site.properties?.serverFarmId
  const planRef = farmId ? tryParseServerfarmId(farmId) : undefined
  if (!farmId || !planRef) throw new CheckFailedError(`The app ${label} reports no App Service plan (serverFarmId).`, {code: 'NoPlan'})
  const plan = await doing(`reading the plan ${planRef.plan} of ${label}`, () => web.getPlan(farmId))
  if (!plan) throw new NotFoundError(`The plan ${planRef.plan} of ${label} was not found in resource group ${planRef.resourceGroup}.`, {code: 'PlanNotFound'})
  const tierName = plan.sku?.tier ?? tierFromSkuName(plan.sku?.name) ?? site.properties?.sku
  const tier = tierRule(tierName)
  const siteSku = (site.properties?.sku ?? '').toLowerCase()
  if (!tier.eligible || siteSku === 'dynamic' || siteSku === 'flexconsumption') {
    throw new ConflictError(`The app ${label} runs on plan ${planRef.plan} (${tierName ?? site.properties?.sku}): ${tier.reason ?? 'this tier does not support hybrid connections'}.`, {
      code: 'PlanNotEligible',
      suggestions: ['Scale the plan up to Basic, Standard, Premium or Isolated (e.g. `az appservice plan update --sku B1`), or use an app on such a plan.'],
      data: {plan: planRef.plan, tier: tierName},
    })
  }
  if (tier.reason) run.warn(`Plan ${planRef.plan}: ${tier.reason}.`)
  return {ref, site, plan, planRef: {resourceGroup: planRef.resourceGroup, plan: planRef.plan}, tier, linux: kind.includes('linux') || site.properties?.reserved === true}
}

/** Room in the plan (Basic/Standard) or the app (Premium/Isolated) unless the relay is already counted. */
export async function checkLimit(web: WebApi, app: AppCheck, namespace: string, name: string): Promise<LimitDecision> {
  const key = relayKey(namespace, name)
  const scope = app.tier.scope ?? 'plan'
  const [limit, items] = await doing(`reading the hybrid connection limits of plan ${app.planRef.plan}`, () =>
    Promise.all([web.getPlanLimit(app.plan.id), scope === 'app' ? web.listSiteRelays({...app.ref, slot: undefined}) : web.listPlanRelays(app.plan.id)]),
  )
  const counted = items.map((i) => relayOf(i)).filter((r) => r !== undefined).map((r) => relayKey(r.namespace, r.name))
  const maximum = limit?.maximum ?? app.tier.maximum ?? Number.MAX_SAFE_INTEGER
  const decision = decideLimit(key, counted, maximum, scope, limit?.current)
  if (!decision.ok) {
    const where = scope === 'plan' ? `plan ${app.planRef.plan} (${app.tier.tier})` : `app ${appLabel(app.ref)} on plan ${app.planRef.plan} (${app.tier.tier})`
    throw new ConflictError(
      `The ${where} already uses ${decision.current} of ${decision.maximum} hybrid connections (${[...new Set(counted)].join(', ')}); attaching ${namespace}/${name} would exceed the limit.`,
      {
        code: 'PlanLimitReached',
        suggestions: [
          scope === 'plan' ? 'Disconnect a hybrid connection no app needs (`hcctl disconnect`), reuse one already counted, or scale the plan up (Standard allows 25, Premium 220 per app).' : 'Disconnect a hybrid connection this app no longer needs (`hcctl disconnect`).',
          `See the counted connections with \`hcctl plan limits --plan ${app.planRef.plan} --resource-group ${app.planRef.resourceGroup}\`.`,
        ],
        data: {current: decision.current, maximum: decision.maximum, counted: [...new Set(counted)]},
      },
    )
  }
  return decision
}

/** The relay must require client authorization and carry one valid endpoint item. */
export function checkRelayUsable(run: Run, hc: RelayHybridConnection, input: {namespace: string; resourceGroup: string; strict?: boolean; linuxApp?: boolean}): Endpoint {
  const name = `${input.namespace}/${hc.name}`
  const fix = `hcctl endpoint set ${hc.name} --namespace ${input.namespace} --resource-group ${input.resourceGroup} --endpoint HOST:PORT`
  if (!hc.requiresClientAuthorization) {
    throw new ConflictError(`The hybrid connection ${name} does not require client authorization; App Service can only use hybrid connections that do.`, {
      code: 'ClientAuthorizationRequired',
      suggestions: [`Re-create it with client authorization (the default): \`hcctl create ${hc.name} --namespace ${input.namespace} --resource-group ${input.resourceGroup} --endpoint HOST:PORT\` after deleting it in the Relay blade.`],
    })
  }
  const metadata = parseEndpointMetadata(hc.userMetadata)
  if (!metadata.ok) {
    throw new ConflictError(`The hybrid connection ${name} cannot be used by App Service: ${metadata.reason}.`, {
      code: metadata.problem === 'missing' || metadata.problem === 'no-endpoint' ? 'EndpointMetadataMissing' : 'EndpointMetadataInvalid',
      suggestions: [`Set it with \`${fix}\` (it writes [{"key":"endpoint","value":"HOST:PORT"}]).`],
    })
  }
  const concern = hostConcern(metadata.endpoint.host)
  if (concern) {
    const message = hostConcernMessage(metadata.endpoint, concern) + (concern === 'localhost' && input.linuxApp ? ' This app runs on Linux, where it will not work.' : '')
    if (input.strict) {
      throw new ConflictError(`The hybrid connection ${name} has an endpoint hcctl refuses with --strict. ${message}`, {code: 'EndpointNotDnsName', suggestions: [`Change it with \`${fix}\`.`]})
    }
    run.warn(message)
  }
  return metadata.endpoint
}

/** Reads a rule and checks it has `right` (or Manage); undefined when it does not exist. */
export async function readRuleWithRight(ctx: HybridContext, at: {rg: string; ns: string; hc: string}, rule: string, right: 'Send' | 'Listen'): Promise<AuthorizationRuleInfo | undefined> {
  const existing = await doing(`reading the rule ${rule} of ${at.ns}/${at.hc}`, () => ctx.relay.getRule(at.rg, at.ns, at.hc, rule))
  if (existing && !existing.rights.some((r) => r === right || r === 'Manage')) {
    throw new ConflictError(`The rule ${rule} of ${at.ns}/${at.hc} has the rights [${existing.rights.join(', ')}] but needs ${right}.`, {
      code: 'RuleRightsMismatch',
      suggestions: [`Use another rule name, or give ${rule} the ${right} right in the Relay blade.`],
    })
  }
  return existing
}

/**
 * Ensures a rule with `right` exists (creating it unless told not to); returns whether it exists
 * now. `known` is the rule as a preflight read it (null: known to be absent), so it is not read twice.
 */
export async function ensureRule(
  run: Run,
  ctx: HybridContext,
  at: {rg: string; ns: string; hc: string},
  rule: string,
  right: 'Send' | 'Listen',
  create = true,
  known?: AuthorizationRuleInfo | null,
): Promise<'exists' | 'created' | 'planned'> {
  const id = authorizationRuleId({subscriptionId: ctx.subscriptionId, resourceGroup: at.rg, namespace: at.ns, hybridConnection: at.hc, rule})
  const existing = known === undefined ? await readRuleWithRight(ctx, at, rule, right) : (known ?? undefined)
  if (existing) {
    run.unchanged(`rule ${rule}`, id, `rights ${existing.rights.join(', ')}`)
    return 'exists'
  }
  if (!create) {
    throw new NotFoundError(`The rule ${rule} does not exist on ${at.ns}/${at.hc}.`, {code: 'RuleNotFound', suggestions: ['Leave out --no-create-rule to create it, or pass --key-name with an existing Send rule.']})
  }
  const done = await run.write({resource: `rule ${rule}`, id, action: 'create', detail: `rights ${right}`}, {method: 'PUT', path: id, body: {properties: {rights: [right]}}}, () =>
    doing(`creating the rule ${rule}`, () => ctx.relay.putRule(at.rg, at.ns, at.hc, rule, [right])),
  )
  return done ? 'created' : 'planned'
}

export function validateAttachInput(input: AttachInput): void {
  validateHybridConnectionName(input.hybridConnection)
  validateNamespaceName(input.namespace)
  validateAppName(input.app)
  if (input.slot !== undefined) validateSlotName(input.slot)
  validateResourceGroupName(input.resourceGroup)
  if (input.relayResourceGroup !== undefined) validateResourceGroupName(input.relayResourceGroup, '--relay-resource-group')
  validateRuleName(input.keyName ?? DEFAULT_SENDER)
}

/** Attaches an existing hybrid connection to an app (or slot). */
export async function attach(ctx: HybridContext, input: AttachInput): Promise<AttachResult> {
  validateAttachInput(input)
  if (input.relaySubscriptionId && input.relaySubscriptionId.toLowerCase() !== ctx.subscriptionId.toLowerCase()) {
    throw new UsageError(
      `The relay is in subscription ${input.relaySubscriptionId} (relayArmUri), not in ${ctx.subscriptionId}, where hcctl reads the relay and the app; hcctl attaches relays of the app's subscription only, and will not point the app at another relay than the one named.`,
      {
        code: 'RelayInOtherSubscription',
        suggestions: ['Create or pick a hybrid connection in the app\'s subscription (`hcctl create ... --app APP`), or, when the app lives in that subscription too, pass --subscription ' + input.relaySubscriptionId + '.'],
      },
    )
  }
  const run = new Run(ctx)
  const web = new WebApi(ctx.arm, ctx.subscriptionId, ctx.signal)
  const ref: AppRef = {resourceGroup: input.resourceGroup, app: input.app, ...(input.slot ? {slot: input.slot} : {})}
  const app = await checkApp(run, web, ref)
  return attachChecked(run, web, input, app)
}

/**
 * The rest of attach once the app side is known. `planned` is the relay state a dry run of
 * `create` would have made (so the checks read it instead of a relay that does not exist yet).
 */
export async function attachChecked(
  run: Run,
  web: WebApi,
  input: AttachInput,
  app: AppCheck,
  planned?: {hc: RelayHybridConnection; ruleWillExist: boolean},
  options: {ruleEnsured?: boolean; limit?: LimitDecision} = {},
): Promise<AttachResult> {
  const ctx = run.ctx
  const relayRg = input.relayResourceGroup ?? input.resourceGroup
  const {namespace: ns} = input
  const keyName = input.keyName ?? DEFAULT_SENDER
  const hc =
    planned?.hc ??
    (await doing(`reading the hybrid connection ${ns}/${input.hybridConnection}`, () => ctx.relay.getHybridConnection(relayRg, ns, input.hybridConnection)))
  if (!hc) {
    throw new NotFoundError(`The hybrid connection ${ns}/${input.hybridConnection} was not found in resource group ${relayRg}.`, {
      code: 'HybridConnectionNotFound',
      suggestions: [
        input.relayResourceGroup ? 'Check --namespace and --relay-resource-group.' : 'If the relay lives in another resource group than the app, pass --relay-resource-group.',
        `Create it with \`hcctl create ${input.hybridConnection} --namespace ${ns} --resource-group ${relayRg} --endpoint HOST:PORT\`.`,
      ],
    })
  }
  const hcName = hc.name || input.hybridConnection
  const endpoint = checkRelayUsable(run, hc, {namespace: ns, resourceGroup: relayRg, strict: input.strict, linuxApp: app.linux})
  if (input.expectedEndpoint && formatEndpoint(input.expectedEndpoint).toLowerCase() !== formatEndpoint(endpoint).toLowerCase()) {
    throw new ConflictError(`The file asks for ${formatEndpoint(input.expectedEndpoint)} but the hybrid connection ${ns}/${hcName} has the endpoint ${formatEndpoint(endpoint)}.`, {
      code: 'EndpointConflict',
      suggestions: [`Change the relay's endpoint with \`hcctl endpoint set ${hcName} --namespace ${ns} --resource-group ${relayRg} --endpoint ${formatEndpoint(input.expectedEndpoint)}\`, or fix the file.`],
    })
  }
  const relayId = hybridConnectionId({subscriptionId: ctx.subscriptionId, resourceGroup: relayRg, namespace: ns, hybridConnection: hcName})
  const at = {rg: relayRg, ns, hc: hcName}

  // Preflight that needs no write: the rule's rights and the caller's listKeys permission.
  const existingRule = planned ? undefined : await readRuleWithRight(ctx, at, keyName, 'Send')
  let keys: AccessKeys | undefined
  if (existingRule) {
    keys = await doing(`listing the keys of ${keyName} on ${ns}/${hcName}`, () => ctx.relay.listKeys(relayRg, ns, hcName, keyName), {listKeys: true})
  }
  const limit = options.limit ?? (await checkLimit(web, app, ns, hcName))
  const webId = web.siteRelayPath(app.ref, ns, hcName)
  const existing = await doing(`reading the hybrid connections of ${appLabel(app.ref)}`, () => web.getSiteRelay(app.ref, ns, hcName))

  // Writes.
  if (planned) {
    if (!planned.ruleWillExist) await ensureRule(run, ctx, at, keyName, 'Send', input.createRule !== false)
  } else if (!options.ruleEnsured || !existingRule) {
    const state = await ensureRule(run, ctx, at, keyName, 'Send', input.createRule !== false, existingRule ?? null)
    if (state === 'created') keys = await doing(`listing the keys of ${keyName} on ${ns}/${hcName}`, () => ctx.relay.listKeys(relayRg, ns, hcName, keyName), {listKeys: true})
  }

  const body: WebRelayBody = {
    name: hcName,
    type: app.ref.slot ? 'Microsoft.Web/sites/slots/hybridConnectionNamespaces/relays' : 'Microsoft.Web/sites/hybridConnectionNamespaces/relays',
    ...(app.site.location ? {location: app.site.location} : {}),
    properties: {
      serviceBusNamespace: ns,
      relayName: hcName,
      relayArmUri: relayId,
      hostname: endpoint.host,
      port: endpoint.port,
      sendKeyName: keyName,
      sendKeyValue: keys?.primaryKey ?? (run.dryRun ? '<primary key of ' + keyName + '>' : ''),
      serviceBusSuffix: ctx.relaySuffix,
    },
  }
  const label = `app ${appLabel(app.ref)}`
  const same = existing && (await sameAttachment(web, app, existing, body, keys))
  if (same) {
    run.unchanged(label, webId, `already attached to ${ns}/${hcName} (${formatEndpoint(endpoint)}, ${keyName})`)
  } else {
    const detail = existing ? describeDrift(existing, body) : `${formatEndpoint(endpoint)} with ${keyName}`
    await run.write({resource: label, id: webId, action: existing ? 'update' : 'create', detail}, {method: 'PUT', path: webId, body}, async () => {
      await doing(`attaching ${ns}/${hcName} to ${appLabel(app.ref)}`, () => web.putSiteRelay(app.ref, ns, hcName, body))
      const back = await doing(`reading back the hybrid connection of ${appLabel(app.ref)}`, () => web.getSiteRelay(app.ref, ns, hcName))
      const p = back?.properties
      if (!p || String(p.hostname).toLowerCase() !== endpoint.host.toLowerCase() || Number(p.port) !== endpoint.port || String(p.sendKeyName).toLowerCase() !== keyName.toLowerCase()) {
        throw new CheckFailedError(`App Service did not keep the hybrid connection of ${appLabel(app.ref)} as written (read back ${p ? `${p.hostname}:${p.port} ${p.sendKeyName}` : 'nothing'}).`, {code: 'ReadBackMismatch'})
      }
    })
  }
  return {
    ...run.outcome(),
    app: {name: app.ref.app, ...(app.ref.slot ? {slot: app.ref.slot} : {}), resourceGroup: app.ref.resourceGroup, ...(app.site.kind ? {kind: app.site.kind} : {}), id: siteId(siteRefOf(ctx.subscriptionId, app.ref))},
    plan: {name: app.planRef.plan, resourceGroup: app.planRef.resourceGroup, tier: app.tier.tier, current: limit.current + (limit.alreadyCounted ? 0 : 1), maximum: limit.maximum, scope: limit.scope, alreadyCounted: limit.alreadyCounted},
    relay: {id: relayId, namespace: ns, name: hcName, resourceGroup: relayRg, endpoint: formatEndpoint(endpoint)},
    keyName,
    webResourceId: webId,
  }
}

async function sameAttachment(web: WebApi, app: AppCheck, existing: {properties: Record<string, unknown>}, body: WebRelayBody, keys: AccessKeys | undefined): Promise<boolean> {
  const p = existing.properties ?? {}
  const w = body.properties
  const eq = (a: unknown, b: unknown) => String(a ?? '').toLowerCase() === String(b ?? '').toLowerCase()
  const relayA = typeof p.relayArmUri === 'string' ? tryParseHybridConnectionId(p.relayArmUri) : undefined
  const relayB = tryParseHybridConnectionId(w.relayArmUri)
  if (!eq(p.hostname, w.hostname) || Number(p.port) !== w.port || !eq(p.sendKeyName, w.sendKeyName) || !eq(p.serviceBusSuffix, w.serviceBusSuffix)) return false
  if (!relayA || !relayB || !eq(relayA.resourceGroup, relayB.resourceGroup) || !eq(relayA.namespace, relayB.namespace) || !eq(relayA.hybridConnection, relayB.hybridConnection)) return false
  if (!keys) return true // a dry run of a rule to create: nothing to compare yet
  // The key is blanked in responses; the plan's listKeys tells which key the apps hold.
  const held = await doing('reading the key the plan holds', () => web.listPlanRelayKey(app.plan.id, w.serviceBusNamespace, w.relayName), {listKeys: true})
  return Boolean(held?.sendKeyValue) && (held!.sendKeyValue === keys.primaryKey || held!.sendKeyValue === keys.secondaryKey)
}

function describeDrift(existing: {properties: Record<string, unknown>}, body: WebRelayBody): string {
  const p = existing.properties ?? {}
  const changes: string[] = []
  if (`${p.hostname}:${p.port}`.toLowerCase() !== `${body.properties.hostname}:${body.properties.port}`.toLowerCase()) changes.push(`endpoint ${p.hostname}:${p.port} → ${body.properties.hostname}:${body.properties.port}`)
  if (String(p.sendKeyName ?? '').toLowerCase() !== body.properties.sendKeyName.toLowerCase()) changes.push(`key name ${p.sendKeyName} → ${body.properties.sendKeyName}`)
  return changes.length > 0 ? changes.join('; ') : 'refreshed the send key'
}

/**
 * Reads the JSON of the product docs' example (what armclient users PUT):
 * `{name, type, location, properties: {serviceBusNamespace, relayName, relayArmUri, hostName, port, sendKeyName, sendKeyValue}}`.
 */
export function parseAttachFile(
  text: string,
  source: string,
): {namespace?: string; hybridConnection?: string; relayResourceGroup?: string; relaySubscriptionId?: string; keyName?: string; endpoint?: Endpoint} {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`${source} is not JSON: ${(error as Error).message}.`, {code: 'InvalidFile'})
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`${source} must hold one JSON object (name, type, location, properties).`, {code: 'InvalidFile'})
  // Azure reads property names without regard to case (hostName, hostname, HostName); so does this.
  const field = (o: Record<string, unknown>, name: string): unknown => Object.entries(o).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]
  const d = data as Record<string, unknown>
  const rawProps = field(d, 'properties')
  const props = (rawProps && typeof rawProps === 'object' && !Array.isArray(rawProps) ? rawProps : {}) as Record<string, unknown>
  const get = (name: string): unknown => field(props, name)
  const str = (name: string): string | undefined => {
    const v = get(name)
    if (v === undefined || v === null || v === '') return undefined
    if (typeof v !== 'string') throw new UsageError(`${source}: properties.${name} must be a string.`, {code: 'InvalidFile'})
    return v
  }
  const relayArmUri = str('relayArmUri')
  const relay = relayArmUri ? tryParseHybridConnectionId(relayArmUri) : undefined
  if (relayArmUri && !relay) throw new UsageError(`${source}: properties.relayArmUri "${relayArmUri}" is not a hybrid connection id (…/providers/Microsoft.Relay/namespaces/NS/hybridConnections/HC).`, {code: 'InvalidFile'})
  const host = str('hostName')
  const portRaw = get('port')
  let endpoint: Endpoint | undefined
  if (host !== undefined || portRaw !== undefined) {
    const port = typeof portRaw === 'number' ? portRaw : Number(portRaw)
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`${source}: properties.hostName and properties.port must give a host and a port from 1 to 65535.`, {code: 'InvalidFile'})
    endpoint = {host, port}
  }
  const rawName = field(d, 'name')
  const name = typeof rawName === 'string' ? rawName.split('/').pop() : undefined
  return {
    ...(relay ? {relaySubscriptionId: relay.subscriptionId} : {}),
    namespace: str('serviceBusNamespace') ?? relay?.namespace,
    hybridConnection: str('relayName') ?? relay?.hybridConnection ?? name,
    relayResourceGroup: relay?.resourceGroup,
    keyName: str('sendKeyName'),
    ...(endpoint ? {endpoint} : {}),
  }
}
