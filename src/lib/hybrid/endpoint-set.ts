import {CheckFailedError, UsageError} from '../errors.js'
import {Run, doing, mapLimit, type HybridContext} from './context.js'
import {hostConcern, hostConcernMessage, parseEndpoint} from './endpoint.js'
import {DEFAULT_ENDPOINT_REFRESH_MS, formatEndpoint, formatEndpointMetadata, parseEndpointMetadata, sameEndpoint} from '../relay/endpoint.js'
import {hybridConnectionId} from '../azure/resource-id.js'
import {appLabel, type ProvisioningOutcome} from './model.js'
import {validateHybridConnectionName, validateNamespaceName, validateResourceGroupName} from './naming.js'
import {collectUsers, type User} from './rotate.js'
import {getRelayOrThrow} from './show.js'
import {WebApi, type WebRelayBody} from './web.js'

export interface EndpointSetInput {
  hybridConnection: string
  namespace: string
  resourceGroup: string
  endpoint: string
  strict?: boolean
}

export interface EndpointSetResult extends ProvisioningOutcome {
  hybridConnection: {namespace: string; name: string; resourceGroup: string}
  previous?: string
  endpoint: string
  apps: Array<{app: string; slot?: string; resourceGroup: string; plan: string; previous?: string}>
  /** What running agents do about it. */
  agents: string
}

/**
 * Changes the endpoint in the relay metadata and in every app that uses the hybrid connection,
 * then reads everything back (the documented way is delete, re-create and re-add everywhere).
 */
export async function setEndpoint(ctx: HybridContext, input: EndpointSetInput): Promise<EndpointSetResult> {
  validateHybridConnectionName(input.hybridConnection)
  validateNamespaceName(input.namespace)
  validateResourceGroupName(input.resourceGroup)
  const endpoint = parseEndpoint(input.endpoint)
  const run = new Run(ctx)
  const concern = hostConcern(endpoint.host)
  if (concern) {
    if (input.strict) throw new UsageError(`--strict refuses this endpoint. ${hostConcernMessage(endpoint, concern)}`, {code: 'EndpointNotDnsName'})
    run.warn(hostConcernMessage(endpoint, concern))
  }
  const {namespace: ns, resourceGroup: rg} = input
  const web = new WebApi(ctx.arm, ctx.subscriptionId, ctx.signal)
  const hc = await getRelayOrThrow(ctx, rg, ns, input.hybridConnection)
  const name = hc.name || input.hybridConnection
  const metadata = parseEndpointMetadata(hc.userMetadata)
  if (!metadata.ok && metadata.problem !== 'missing') run.warn(`The old metadata of ${ns}/${name} is replaced: ${metadata.reason}.`)
  const users = await collectUsers(ctx, web, rg, ns, name)
  const appEndpoint = (u: User) => `${u.item.properties.hostname}:${u.item.properties.port}`
  const toChange = users.filter((u) => !sameEndpoint({host: String(u.item.properties.hostname ?? ''), port: Number(u.item.properties.port)}, endpoint))

  // Preflight: the key each app holds (the PUT must carry it, or the app loses its key).
  const keyFor = new Map<User, string>()
  await mapLimit(toChange, ctx.concurrency ?? 8, async (u) => {
    const held = await doing(`reading the key ${appLabel(u.ref)} holds`, () => web.listPlanRelayKey(u.planId, ns, name), {listKeys: true})
    let key = held?.sendKeyValue
    if (!key) {
      const rule = u.item.properties.sendKeyName ?? 'defaultSender'
      key = (await doing(`listing the keys of ${rule}`, () => ctx.relay.listKeys(rg, ns, name, rule), {listKeys: true})).primaryKey
    }
    keyFor.set(u, key)
  })

  const hcId = hybridConnectionId({subscriptionId: ctx.subscriptionId, resourceGroup: rg, namespace: ns, hybridConnection: name})
  const relaySame = metadata.ok && sameEndpoint(metadata.endpoint, endpoint) && metadata.endpoint.host === endpoint.host
  if (relaySame) {
    run.unchanged('hybrid connection', hcId, `endpoint ${formatEndpoint(endpoint)}`)
  } else {
    const props = {requiresClientAuthorization: hc.requiresClientAuthorization, userMetadata: formatEndpointMetadata(endpoint, metadata.items)}
    await run.write({resource: 'hybrid connection', id: hcId, action: 'update', detail: `${metadata.ok ? formatEndpoint(metadata.endpoint) : '(none)'} → ${formatEndpoint(endpoint)}`}, {method: 'PUT', path: hcId, body: {properties: props}}, () =>
      doing(`setting the endpoint of ${ns}/${name}`, () => ctx.relay.putHybridConnection(rg, ns, name, props)),
    )
  }
  for (const u of users) if (!toChange.includes(u)) run.unchanged(`app ${appLabel(u.ref)}`, web.siteRelayPath(u.ref, ns, name), `already ${formatEndpoint(endpoint)}`)
  await mapLimit(toChange, ctx.concurrency ?? 8, async (u) => {
    const p = u.item.properties
    const body: WebRelayBody = {
      ...(u.item.name ? {name: u.item.name.split('/').pop()} : {}),
      ...(u.item.location ? {location: u.item.location} : {}),
      properties: {
        serviceBusNamespace: p.serviceBusNamespace ?? ns,
        relayName: p.relayName ?? name,
        relayArmUri: p.relayArmUri ?? hcId,
        hostname: endpoint.host,
        port: endpoint.port,
        sendKeyName: p.sendKeyName ?? 'defaultSender',
        sendKeyValue: keyFor.get(u) ?? '',
        serviceBusSuffix: p.serviceBusSuffix || ctx.relaySuffix,
      },
    }
    const id = web.siteRelayPath(u.ref, ns, name)
    await run.write({resource: `app ${appLabel(u.ref)}`, id, action: 'update', detail: `${appEndpoint(u)} → ${formatEndpoint(endpoint)}`}, {method: 'PUT', path: id, body}, () =>
      doing(`setting the endpoint of ${appLabel(u.ref)}`, () => web.putSiteRelay(u.ref, ns, name, body)),
    )
  })

  // Verify.
  if (!run.dryRun) {
    const back = await getRelayOrThrow(ctx, rg, ns, name)
    const m = parseEndpointMetadata(back.userMetadata)
    if (!m.ok || !sameEndpoint(m.endpoint, endpoint)) throw new CheckFailedError(`The relay did not keep the endpoint ${formatEndpoint(endpoint)} (read back: ${m.ok ? formatEndpoint(m.endpoint) : m.reason}).`, {code: 'ReadBackMismatch'})
    await mapLimit(users, ctx.concurrency ?? 8, async (u) => {
      const item = await doing(`reading back ${appLabel(u.ref)}`, () => web.getSiteRelay(u.ref, ns, name))
      const p = item?.properties
      if (!p || !sameEndpoint({host: String(p.hostname ?? ''), port: Number(p.port)}, endpoint)) {
        throw new CheckFailedError(`The app ${appLabel(u.ref)} did not keep the endpoint ${formatEndpoint(endpoint)} (read back ${p ? `${p.hostname}:${p.port}` : 'nothing'}).`, {
          code: 'ReadBackMismatch',
          suggestions: ['Re-run the same command: it changes only what still differs.'],
        })
      }
    })
  }
  return {
    ...run.outcome(),
    hybridConnection: {namespace: ns, name, resourceGroup: rg},
    ...(metadata.ok ? {previous: formatEndpoint(metadata.endpoint)} : {}),
    endpoint: formatEndpoint(endpoint),
    apps: users.map((u) => ({app: u.ref.app, ...(u.ref.slot ? {slot: u.ref.slot} : {}), resourceGroup: u.ref.resourceGroup, plan: u.planName, ...(toChange.includes(u) ? {previous: appEndpoint(u)} : {})})),
    agents: `Running hcctl agents dial the new endpoint within their --endpoint-refresh interval (default ${DEFAULT_ENDPOINT_REFRESH_MS / 1000} s) and whenever they reconnect; other agents (the Hybrid Connection Manager) may need a restart.`,
  }
}
