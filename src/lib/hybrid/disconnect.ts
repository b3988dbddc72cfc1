import {ConflictError, NotFoundError, UsageError} from '../errors.js'
import {Run, doing, type HybridContext} from './context.js'
import {hybridConnectionId} from '../azure/resource-id.js'
import {type AppRef, appLabel, type ProvisioningOutcome, sameApp} from './model.js'
import {validateAppName, validateHybridConnectionName, validateNamespaceName, validateResourceGroupName, validateSlotName} from './naming.js'
import {findUsers} from './show.js'
import {WebApi} from './web.js'

export interface DisconnectInput {
  hybridConnection: string
  namespace: string
  app: string
  slot?: string
  resourceGroup: string
  relayResourceGroup?: string
  /** Also delete the relay hybrid connection (only when no other app uses it). */
  deleteRelay?: boolean
  /** Asked before deleting the relay; false stops. Absent = already confirmed. */
  confirm?: (question: string) => Promise<boolean>
}

export interface DisconnectResult extends ProvisioningOutcome {
  app: {name: string; slot?: string; resourceGroup: string}
  hybridConnection: {namespace: string; name: string}
  /** The app had no such hybrid connection. */
  nothingToDo: boolean
  relayDeleted: boolean
}

export async function disconnect(ctx: HybridContext, input: DisconnectInput): Promise<DisconnectResult> {
  validateHybridConnectionName(input.hybridConnection)
  validateNamespaceName(input.namespace)
  validateAppName(input.app)
  if (input.slot !== undefined) validateSlotName(input.slot)
  validateResourceGroupName(input.resourceGroup)
  const relayRg = input.relayResourceGroup ?? input.resourceGroup
  const {namespace: ns, hybridConnection: hc} = input
  const run = new Run(ctx)
  const web = new WebApi(ctx.arm, ctx.subscriptionId, ctx.signal)
  const ref: AppRef = {resourceGroup: input.resourceGroup, app: input.app, ...(input.slot ? {slot: input.slot} : {})}
  const site = await doing(`reading the app ${appLabel(ref)}`, () => web.getSite(ref))
  if (!site) throw new NotFoundError(`The app ${appLabel(ref)} was not found in resource group ${input.resourceGroup}.`, {code: 'AppNotFound'})
  const existing = await doing(`reading the hybrid connections of ${appLabel(ref)}`, () => web.getSiteRelay(ref, ns, hc))
  const webId = web.siteRelayPath(ref, ns, hc)

  // Preflight for --delete-relay: nobody else may use it, and the user agrees.
  let relayExists = false
  if (input.deleteRelay) {
    relayExists = Boolean(await doing(`reading the hybrid connection ${ns}/${hc}`, () => ctx.relay.getHybridConnection(relayRg, ns, hc)))
    if (relayExists) {
      const users = (await findUsers(ctx, web, relayRg, ns, hc)).flatMap((u) => u.apps.map((a) => ({...a, plan: u.plan.name})))
      const others = users.filter((a) => !sameApp(a, ref))
      if (others.length > 0) {
        throw new ConflictError(`Not deleting ${ns}/${hc}: ${others.length} other app${others.length === 1 ? '' : 's'} use${others.length === 1 ? 's' : ''} it: ${others.map((a) => `${appLabel(a)} (plan ${a.plan})`).join(', ')}.`, {
          code: 'RelayInUse',
          suggestions: ['Disconnect those apps first, or leave out --delete-relay to disconnect only this app.'],
          data: {usedBy: others.map((a) => ({app: a.app, slot: a.slot, resourceGroup: a.resourceGroup, plan: a.plan}))},
        })
      }
      if (!run.dryRun && input.confirm && !(await input.confirm(`Delete the hybrid connection ${ns}/${hc} (its rules and keys go with it)?`))) {
        throw new UsageError('Stopped: the deletion was not confirmed.', {code: 'NotConfirmed', suggestions: ['Pass --yes to confirm without a prompt.']})
      }
    }
  }

  if (existing) {
    await run.write({resource: `app ${appLabel(ref)}`, id: webId, action: 'delete', detail: `detached from ${ns}/${hc}`}, {method: 'DELETE', path: webId}, () =>
      doing(`disconnecting ${appLabel(ref)}`, () => web.deleteSiteRelay(ref, ns, hc)),
    )
  } else {
    run.unchanged(`app ${appLabel(ref)}`, webId, 'not attached: nothing to do')
  }
  let relayDeleted = false
  if (input.deleteRelay) {
    const id = hybridConnectionId({subscriptionId: ctx.subscriptionId, resourceGroup: relayRg, namespace: ns, hybridConnection: hc})
    if (relayExists) {
      await run.write({resource: 'hybrid connection', id, action: 'delete'}, {method: 'DELETE', path: id}, () => doing(`deleting ${ns}/${hc}`, () => ctx.relay.deleteHybridConnection(relayRg, ns, hc)))
      relayDeleted = !run.dryRun
    } else {
      run.unchanged('hybrid connection', id, 'already absent')
    }
  }
  return {
    ...run.outcome(),
    app: {name: ref.app, ...(ref.slot ? {slot: ref.slot} : {}), resourceGroup: ref.resourceGroup},
    hybridConnection: {namespace: ns, name: hc},
    nothingToDo: !existing && !relayDeleted && !run.steps.some((s) => s.status === 'planned'),
    relayDeleted,
  }
}
