import {ConflictError, NotFoundError, UsageError} from '../errors.js'
import {type AttachResult, DEFAULT_LISTENER, DEFAULT_SENDER, attachChecked, checkApp, checkLimit, ensureRule, readRuleWithRight, validateAttachInput, type AppCheck} from './attach.js'
import {Run, doing, type HybridContext} from './context.js'
import {hostConcern, hostConcernMessage, parseEndpoint} from './endpoint.js'
import {type Endpoint, formatEndpoint, formatEndpointMetadata, parseEndpointMetadata, sameEndpoint} from '../relay/endpoint.js'
import {hybridConnectionId, relayNamespaceId} from '../azure/resource-id.js'
import type {AppRef, ProvisioningOutcome, RelayHybridConnection} from './model.js'
import {validateHybridConnectionName, validateNamespaceName, validateResourceGroupName} from './naming.js'
import {WebApi} from './web.js'

export interface CreateInput {
  hybridConnection: string
  namespace: string
  /** The relay's resource group. */
  resourceGroup: string
  endpoint: string
  createNamespace?: boolean
  location?: string
  strict?: boolean
  app?: string
  appResourceGroup?: string
  slot?: string
  keyName?: string
}

export interface CreateResult extends ProvisioningOutcome {
  namespace: {name: string; resourceGroup: string; id: string; created: boolean}
  hybridConnection: {name: string; id: string; endpoint: string; requiresClientAuthorization: boolean; listenerCount: number}
  rules: {listener: string; sender: string}
  attach?: Omit<AttachResult, 'dryRun' | 'changed' | 'steps' | 'warnings' | 'plannedCalls'>
}

/**
 * Ensures, in order: the namespace (only with createNamespace), the hybrid connection with
 * client authorization and the endpoint metadata, a defaultListener (Listen) and a
 * defaultSender (Send) rule; then, with `app`, attaches it. Idempotent; every check that can
 * refuse runs before the first write.
 */
export async function create(ctx: HybridContext, input: CreateInput): Promise<CreateResult> {
  validateHybridConnectionName(input.hybridConnection)
  validateNamespaceName(input.namespace)
  validateResourceGroupName(input.resourceGroup)
  const endpoint = parseEndpoint(input.endpoint)
  const run = new Run(ctx)
  const web = new WebApi(ctx.arm, ctx.subscriptionId, ctx.signal)
  const {namespace: ns, resourceGroup: rg} = input
  const concern = hostConcern(endpoint.host)
  if (concern) {
    if (input.strict) throw new UsageError(`--strict refuses this endpoint. ${hostConcernMessage(endpoint, concern)}`, {code: 'EndpointNotDnsName', suggestions: ['Pass a DNS name, e.g. --endpoint sql01.corp.local:1433.']})
    run.warn(hostConcernMessage(endpoint, concern))
  }
  const appRef: AppRef | undefined = input.app ? {resourceGroup: input.appResourceGroup ?? rg, app: input.app, ...(input.slot ? {slot: input.slot} : {})} : undefined
  if (appRef) validateAttachInput({hybridConnection: input.hybridConnection, namespace: ns, app: appRef.app, slot: appRef.slot, resourceGroup: appRef.resourceGroup, relayResourceGroup: rg, keyName: input.keyName})
  else if (input.slot) throw new UsageError('--slot needs --app.', {code: 'UsageError'})

  // Preflight: the app and its plan, the namespace, the existing hybrid connection.
  let app: AppCheck | undefined
  if (appRef) app = await checkApp(run, web, appRef)
  const nsId = relayNamespaceId({subscriptionId: ctx.subscriptionId, resourceGroup: rg, namespace: ns})
  const existingNs = await doing(`reading the namespace ${ns}`, () => ctx.relay.getNamespace(rg, ns))
  let location = input.location
  if (!existingNs) {
    if (!input.createNamespace) {
      throw new NotFoundError(`The relay namespace ${ns} was not found in resource group ${rg}.`, {
        code: 'NamespaceNotFound',
        suggestions: [`Pass --create-namespace (and --location) to create it, or check --namespace and --resource-group.`],
      })
    }
    if (!location) location = await resourceGroupLocation(ctx, rg)
  }
  const hcId = hybridConnectionId({subscriptionId: ctx.subscriptionId, resourceGroup: rg, namespace: ns, hybridConnection: input.hybridConnection})
  const existing = existingNs ? await doing(`reading the hybrid connection ${ns}/${input.hybridConnection}`, () => ctx.relay.getHybridConnection(rg, ns, input.hybridConnection)) : undefined
  let metadataToWrite: string | undefined
  if (existing) {
    if (!existing.requiresClientAuthorization) {
      throw new ConflictError(`The hybrid connection ${ns}/${existing.name} exists without client authorization; App Service cannot use it and it cannot be changed in place.`, {
        code: 'ClientAuthorizationRequired',
        suggestions: ['Delete it (after checking nothing else uses it) and run this command again, or choose another name.'],
      })
    }
    const metadata = parseEndpointMetadata(existing.userMetadata)
    if (metadata.ok && !sameEndpoint(metadata.endpoint, endpoint)) {
      throw new ConflictError(`The hybrid connection ${ns}/${existing.name} exists with the endpoint ${formatEndpoint(metadata.endpoint)}, not ${formatEndpoint(endpoint)}.`, {
        code: 'EndpointConflict',
        suggestions: [`To change it (and every app using it), run \`hcctl endpoint set ${existing.name} --namespace ${ns} --resource-group ${rg} --endpoint ${formatEndpoint(endpoint)}\`.`],
        data: {existing: formatEndpoint(metadata.endpoint), requested: formatEndpoint(endpoint)},
      })
    }
    if (!metadata.ok) {
      if (metadata.problem !== 'missing' && metadata.problem !== 'no-endpoint') {
        throw new ConflictError(`The hybrid connection ${ns}/${existing.name} exists and ${metadata.reason}.`, {
          code: 'EndpointMetadataInvalid',
          suggestions: [`Replace it with \`hcctl endpoint set ${existing.name} --namespace ${ns} --resource-group ${rg} --endpoint ${formatEndpoint(endpoint)}\`.`],
        })
      }
      metadataToWrite = formatEndpointMetadata(endpoint, metadata.items)
    }
  }

  // The rules an existing connection has must have their rights, and the app's plan must have
  // room, before anything is written (else a refusal would leave a half-made connection).
  const sender = input.keyName ?? DEFAULT_SENDER
  const hcName = existing?.name || input.hybridConnection
  const at = {rg, ns, hc: hcName}
  const rules = existing
    ? {listener: (await readRuleWithRight(ctx, at, DEFAULT_LISTENER, 'Listen')) ?? null, sender: (await readRuleWithRight(ctx, at, sender, 'Send')) ?? null}
    : undefined
  const limit = app ? await checkLimit(web, app, ns, hcName) : undefined

  // Writes, in order.
  if (existingNs) {
    run.unchanged('namespace', nsId, `${ns} exists`)
  } else {
    await run.write({resource: 'namespace', id: nsId, action: 'create', detail: `${ns} in ${location}`}, {method: 'PUT', path: nsId, body: {location, sku: {name: 'Standard', tier: 'Standard'}}}, () =>
      doing(`creating the namespace ${ns}`, () => ctx.relay.createNamespace(rg, ns, location!)),
    )
  }
  let hc: RelayHybridConnection | undefined = existing
  if (!existing) {
    const props = {requiresClientAuthorization: true, userMetadata: formatEndpointMetadata(endpoint)}
    hc =
      (await run.write({resource: 'hybrid connection', id: hcId, action: 'create', detail: formatEndpoint(endpoint)}, {method: 'PUT', path: hcId, body: {properties: props}}, () =>
        doing(`creating the hybrid connection ${ns}/${input.hybridConnection}`, () => ctx.relay.putHybridConnection(rg, ns, input.hybridConnection, props)),
      )) ?? {id: hcId, name: input.hybridConnection, listenerCount: 0, ...props}
  } else if (metadataToWrite) {
    const props = {requiresClientAuthorization: true, userMetadata: metadataToWrite}
    hc =
      (await run.write({resource: 'hybrid connection', id: hcId, action: 'update', detail: `endpoint metadata ${formatEndpoint(endpoint)}`}, {method: 'PUT', path: hcId, body: {properties: props}}, () =>
        doing(`setting the endpoint of ${ns}/${existing.name}`, () => ctx.relay.putHybridConnection(rg, ns, existing.name, props)),
      )) ?? {...existing, ...props}
  } else {
    run.unchanged('hybrid connection', hcId, `${formatEndpoint(endpoint)}, client authorization required`)
  }
  const planned = run.dryRun && !existing
  if (planned) {
    // Nothing exists to read: record the rule writes.
    for (const [rule, right] of [[DEFAULT_LISTENER, 'Listen'], [sender, 'Send']] as const) {
      const id = `${hcId}/authorizationRules/${rule}`
      await run.write({resource: `rule ${rule}`, id, action: 'create', detail: `rights ${right}`}, {method: 'PUT', path: id, body: {properties: {rights: [right]}}}, async () => undefined)
    }
  } else {
    await ensureRule(run, ctx, at, DEFAULT_LISTENER, 'Listen', true, rules?.listener)
    await ensureRule(run, ctx, at, sender, 'Send', true, rules?.sender)
  }

  let attachResult: AttachResult | undefined
  if (app && appRef) {
    attachResult = await attachChecked(
      run,
      web,
      {hybridConnection: hcName, namespace: ns, app: appRef.app, slot: appRef.slot, resourceGroup: appRef.resourceGroup, relayResourceGroup: rg, keyName: sender, strict: input.strict},
      app,
      run.dryRun && (!existing || metadataToWrite) ? {hc: hc!, ruleWillExist: true} : undefined,
      {ruleEnsured: true, limit},
    )
  }
  const outcome = run.outcome()
  const result: CreateResult = {
    ...outcome,
    namespace: {name: ns, resourceGroup: rg, id: nsId, created: !existingNs},
    hybridConnection: {name: hcName, id: hcId, endpoint: formatEndpoint(endpoint), requiresClientAuthorization: true, listenerCount: hc?.listenerCount ?? 0},
    rules: {listener: DEFAULT_LISTENER, sender},
  }
  if (attachResult) {
    const {dryRun: _d, changed: _c, steps: _s, warnings: _w, plannedCalls: _p, ...rest} = attachResult
    result.attach = rest
  }
  return result
}

async function resourceGroupLocation(ctx: HybridContext, rg: string): Promise<string> {
  const group = await doing(`reading the resource group ${rg}`, () => ctx.arm.get<{location?: string}>(`/subscriptions/${ctx.subscriptionId}/resourcegroups/${encodeURIComponent(rg)}`, {allowNotFound: true, signal: ctx.signal}))
  if (!group) throw new NotFoundError(`The resource group ${rg} was not found.`, {code: 'ResourceGroupNotFound', suggestions: ['Create it first (`az group create`), or check --resource-group.']})
  if (!group.location) throw new UsageError(`The resource group ${rg} reports no location; pass --location.`, {code: 'LocationRequired'})
  return group.location
}

export type {Endpoint}
