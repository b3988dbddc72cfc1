import {CheckFailedError, HcctlError, NotFoundError, isHcctlError} from '../errors.js'
import {DEFAULT_SENDER} from './attach.js'
import {Run, doing, explain, mapLimit, type HybridContext} from './context.js'
import {authorizationRuleId} from '../azure/resource-id.js'
import {type AccessKeys, type AppRef, appLabel, type KeyType, type ProvisioningOutcome, sameApp, type WebHybridConnection} from './model.js'
import {validateHybridConnectionName, validateNamespaceName, validateResourceGroupName, validateRuleName} from './naming.js'
import {findUsers, getRelayOrThrow} from './show.js'
import {WebApi, type WebRelayBody} from './web.js'

export interface RotateInput {
  hybridConnection: string
  namespace: string
  resourceGroup: string
  keyName?: string
}

export interface RotatedApp {
  app: string
  slot?: string
  resourceGroup: string
  plan: string
  /** The app's key matched the rule's current primary at the end (checked through its plan). */
  verified: boolean | 'unverifiable'
}

export interface RotateResult extends ProvisioningOutcome {
  hybridConnection: {namespace: string; name: string; resourceGroup: string}
  keyName: string
  apps: RotatedApp[]
  /** Apps that use the hybrid connection with another rule: left alone. */
  skipped: Array<{app: string; slot?: string; resourceGroup: string; sendKeyName?: string}>
}

export interface User {
  ref: AppRef
  planId: string
  planName: string
  item: WebHybridConnection
}

const STEPS = ['point every app at the secondary key', 'regenerate the primary key', 'point every app at the new primary key', 'regenerate the secondary key', 'verify every app holds the current primary key'] as const

/**
 * Rotates both keys of a Send rule without breaking any app: apps → secondary, regenerate
 * primary, apps → new primary, regenerate secondary, verify. Each step is verified; a failure
 * stops with the exact state and how to resume (re-running is always safe: the secondary key
 * stays valid until the apps have left it).
 */
export async function rotateKeys(ctx: HybridContext, input: RotateInput): Promise<RotateResult> {
  validateHybridConnectionName(input.hybridConnection)
  validateNamespaceName(input.namespace)
  validateResourceGroupName(input.resourceGroup)
  const keyName = validateRuleName(input.keyName ?? DEFAULT_SENDER)
  const {namespace: ns, resourceGroup: rg} = input
  const run = new Run(ctx)
  const web = new WebApi(ctx.arm, ctx.subscriptionId, ctx.signal)
  const hc = await getRelayOrThrow(ctx, rg, ns, input.hybridConnection)
  const name = hc.name
  const rule = await doing(`reading the rule ${keyName}`, () => ctx.relay.getRule(rg, ns, name, keyName))
  if (!rule) throw new NotFoundError(`The rule ${keyName} does not exist on ${ns}/${name}.`, {code: 'RuleNotFound', suggestions: ['Pass --key-name with the Send rule the apps use.']})
  let keys = await doing(`listing the keys of ${keyName}`, () => ctx.relay.listKeys(rg, ns, name, keyName), {listKeys: true})

  // Every app and slot that uses it, in every plan.
  const users = await collectUsers(ctx, web, rg, ns, name)
  const rotating = users.filter((u) => String(u.item.properties.sendKeyName ?? '').toLowerCase() === keyName.toLowerCase())
  const skipped = users.filter((u) => !rotating.includes(u)).map((u) => ({app: u.ref.app, ...(u.ref.slot ? {slot: u.ref.slot} : {}), resourceGroup: u.ref.resourceGroup, sendKeyName: u.item.properties.sendKeyName}))
  const ruleId = authorizationRuleId({subscriptionId: ctx.subscriptionId, resourceGroup: rg, namespace: ns, hybridConnection: name, rule: keyName})
  const state = {step: 0, onSecondary: [] as string[], onNewPrimary: [] as string[], primaryRegenerated: false, secondaryRegenerated: false}
  const resume = `hcctl keys rotate ${name} --namespace ${ns} --resource-group ${rg} --key-name ${keyName}`

  const fail = (error: unknown): never => {
    const cause = isHcctlError(error) ? error : explain(error, STEPS[state.step]!)
    const facts = [
      `apps on the secondary key: ${state.onSecondary.length > 0 ? state.onSecondary.join(', ') : 'none'}`,
      `apps on the new primary key: ${state.onNewPrimary.length > 0 ? state.onNewPrimary.join(', ') : 'none'}`,
      `primary regenerated: ${state.primaryRegenerated ? 'yes' : 'no'}`,
      `secondary regenerated: ${state.secondaryRegenerated ? 'yes' : 'no'}`,
    ]
    throw new HcctlError(`Key rotation stopped at step ${state.step + 1} of ${STEPS.length} (${STEPS[state.step]}): ${cause.message} State: ${facts.join('; ')}.`, cause.exitCode, {
      code: 'RotationStopped',
      suggestions: [`Fix the cause, then re-run \`${resume}\`: it starts by pointing every app at the secondary key, which stays valid until the apps have left it, so repeating it is safe.`, ...cause.suggestions],
      data: {...state, step: state.step + 1, stepName: STEPS[state.step]},
      cause: error,
    })
  }

  const pointAll = async (which: 'secondary' | 'primary', key: string, into: string[]) => {
    await mapLimit(rotating, ctx.concurrency ?? 8, async (u) => {
      const id = web.siteRelayPath(u.ref, ns, name)
      const body = bodyFor(u.item, key, ctx.relaySuffix)
      await run.write({resource: `app ${appLabel(u.ref)}`, id, action: 'update', detail: `send key → ${which}`}, {method: 'PUT', path: id, body}, () =>
        doing(`pointing ${appLabel(u.ref)} at the ${which} key`, () => web.putSiteRelay(u.ref, ns, name, body)),
      )
      into.push(appLabel(u.ref))
    })
  }

  const regenerate = async (keyType: KeyType): Promise<AccessKeys | undefined> =>
    run.write({resource: `rule ${keyName}`, id: ruleId, action: 'regenerate-key', detail: keyType}, {method: 'POST', path: `${ruleId}/regenerateKeys`, body: {keyType}}, () =>
      doing(`regenerating the ${keyType}`, () => ctx.relay.regenerateKey(rg, ns, name, keyName, keyType)),
    )

  /** Each plan's listKeys tells the key its apps hold. */
  const verifyPlans = async (expected: string, what: string): Promise<Map<string, boolean | 'unverifiable'>> => {
    const plans = new Map<string, string>()
    for (const u of rotating) plans.set(u.planId.toLowerCase(), u.planId)
    const out = new Map<string, boolean | 'unverifiable'>()
    await mapLimit([...plans.values()], ctx.concurrency ?? 8, async (planId) => {
      const held = await doing('reading the key a plan holds', () => web.listPlanRelayKey(planId, ns, name), {listKeys: true})
      if (!held?.sendKeyValue) {
        out.set(planId.toLowerCase(), 'unverifiable')
        return
      }
      if (held.sendKeyValue !== expected) throw new CheckFailedError(`The apps of plan ${planId.split('/').pop()} do not hold ${what} after it was set.`, {code: 'KeyMismatch'})
      out.set(planId.toLowerCase(), true)
    })
    return out
  }

  let verified = new Map<string, boolean | 'unverifiable'>()
  if (rotating.length === 0) run.warn(`No app uses ${ns}/${name} with the rule ${keyName}; only the keys are regenerated.`)
  try {
    state.step = 0
    await pointAll('secondary', keys.secondaryKey, state.onSecondary)
    if (!run.dryRun) await verifyPlans(keys.secondaryKey, 'the secondary key')
    state.step = 1
    const afterPrimary = await regenerate('PrimaryKey')
    if (afterPrimary) {
      if (afterPrimary.secondaryKey !== keys.secondaryKey) throw new CheckFailedError('Regenerating the primary key changed the secondary key too.', {code: 'UnexpectedKeyChange'})
      if (afterPrimary.primaryKey === keys.primaryKey) throw new CheckFailedError('The primary key did not change.', {code: 'KeyNotRegenerated'})
      keys = afterPrimary
    }
    state.primaryRegenerated = !run.dryRun
    state.step = 2
    await pointAll('primary', keys.primaryKey, state.onNewPrimary)
    if (!run.dryRun) await verifyPlans(keys.primaryKey, 'the new primary key')
    state.onSecondary = []
    state.step = 3
    const afterSecondary = await regenerate('SecondaryKey')
    if (afterSecondary) {
      if (afterSecondary.primaryKey !== keys.primaryKey) throw new CheckFailedError('Regenerating the secondary key changed the primary key too.', {code: 'UnexpectedKeyChange'})
      keys = afterSecondary
    }
    state.secondaryRegenerated = !run.dryRun
    state.step = 4
    if (!run.dryRun) {
      const current = await doing(`listing the keys of ${keyName}`, () => ctx.relay.listKeys(rg, ns, name, keyName), {listKeys: true})
      verified = await verifyPlans(current.primaryKey, 'the current primary key')
    }
  } catch (error) {
    fail(error)
  }
  return {
    ...run.outcome(),
    hybridConnection: {namespace: ns, name, resourceGroup: rg},
    keyName,
    apps: rotating.map((u) => ({app: u.ref.app, ...(u.ref.slot ? {slot: u.ref.slot} : {}), resourceGroup: u.ref.resourceGroup, plan: u.planName, verified: run.dryRun ? false : (verified.get(u.planId.toLowerCase()) ?? false)})),
    skipped,
  }
}

function bodyFor(item: WebHybridConnection, key: string, suffix: string): WebRelayBody {
  const p = item.properties
  return {
    ...(item.name ? {name: item.name.split('/').pop()} : {}),
    ...(item.location ? {location: item.location} : {}),
    properties: {
      serviceBusNamespace: p.serviceBusNamespace ?? '',
      relayName: p.relayName ?? '',
      relayArmUri: p.relayArmUri ?? '',
      hostname: p.hostname ?? '',
      port: Number(p.port),
      sendKeyName: p.sendKeyName ?? '',
      sendKeyValue: key,
      serviceBusSuffix: p.serviceBusSuffix || suffix,
    },
  }
}

/** Apps from the plans, plus the slots of those apps that use the relay too. */
export async function collectUsers(ctx: HybridContext, web: WebApi, rg: string, ns: string, name: string): Promise<User[]> {
  const usages = await findUsers(ctx, web, rg, ns, name)
  const refs: Array<{ref: AppRef; planId: string; planName: string}> = []
  for (const u of usages) for (const a of u.apps) refs.push({ref: a, planId: u.plan.id, planName: u.plan.name})
  const parents = new Map<string, {ref: AppRef; planId: string; planName: string}>()
  for (const r of refs) if (!r.ref.slot) parents.set(`${r.ref.resourceGroup}/${r.ref.app}`.toLowerCase(), r)
  const limit = ctx.concurrency ?? 8
  await mapLimit([...parents.values()], limit, async (parent) => {
    const slots = await doing(`listing the slots of ${parent.ref.app}`, () => web.listSlots(parent.ref)).catch(() => [])
    for (const slot of slots) {
      const slotName = (slot.name ?? '').split('/').pop()
      if (!slotName) continue
      const ref: AppRef = {...parent.ref, slot: slotName}
      if (refs.some((r) => sameApp(r.ref, ref))) continue
      refs.push({ref, planId: parent.planId, planName: parent.planName})
    }
  })
  const users = await mapLimit(refs, limit, async (r) => {
    const item = await doing(`reading the hybrid connection of ${appLabel(r.ref)}`, () => web.getSiteRelay(r.ref, ns, name))
    return item ? {...r, item} : undefined
  })
  return users.filter((u): u is User => u !== undefined)
}

