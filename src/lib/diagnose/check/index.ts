import type {ArmClient} from '../../azure/arm-types.js'
import {type CloudProfile, relayHost} from '../../azure/clouds.js'
import {tryParseHybridConnectionId} from '../../azure/resource-id.js'
import type {AppRef} from '../../hybrid/model.js'
import {relayKey} from '../../hybrid/plan.js'
import type {RelayPort} from '../../hybrid/relay-port.js'
import {relayOf} from '../../hybrid/usages.js'
import {WebApi} from '../../hybrid/web.js'
import type {RoundTripOptions} from '../roundtrip.js'
import {netArm, skippedBecause} from './arm-reach.js'
import {type ExtraCheckOptions, extraContext, withExtraChecks} from './extra.js'
import {APP_CHECKS, type AppContext, type AppFacts, type HybridContext, hybridChecks} from './hybrid.js'
import {NETWORK_CHECKS, type NetworkContext, PUBLIC_RELAY_ISSUER} from './network.js'
import {buildReport, runChecks} from './pipeline.js'
import {roundTripConnect, roundTripProbe, type RoundTripContext} from './roundtrip.js'
import type {CheckDefinition, CheckReport, CheckResult} from './types.js'

export type {CheckReport, CheckResult} from './types.js'

export interface CheckInput {
  cloud: CloudProfile
  arm: ArmClient
  relay: RelayPort
  subscriptionId: string
  /** Check this app (all its hybrid connections, or only `hybridConnection`). */
  app?: AppRef
  /** Check this hybrid connection (`resourceGroup` is the relay's; with an app it may be left out). */
  hybridConnection?: {namespace: string; name: string; resourceGroup?: string}
  strict?: boolean
  roundTrip?: {attempts?: number; send?: string; expect?: RegExp; probe?: 'http'}
  /** Per network operation (default 10 s). */
  timeoutMs?: number
  /** The local clock (tests and the clock-skew knob). */
  now?: () => number
  env?: NodeJS.ProcessEnv
  signal?: AbortSignal
  onResult?: (result: CheckResult) => void
  /** `--gateways` (with `--stamp`) and `--probe tls`: see extra.ts. */
  extra?: ExtraCheckOptions
  /** Test seam for the round trip's sender. */
  connect?: RoundTripOptions['connect']
}

export interface CheckRunResult extends CheckReport {
  subject: {app?: string; resourceGroup?: string; hybridConnections: string[]}
}

type FullContext = HybridContext & NetworkContext & RoundTripContext

/** Every check of one hybrid connection, in order (ids are the stable interface). */
export function perHybridConnectionChecks(withApp: boolean, extra?: ExtraCheckOptions): Array<CheckDefinition<FullContext>> {
  return withExtraChecks([...hybridChecks(withApp), ...NETWORK_CHECKS, roundTripConnect, roundTripProbe] as Array<CheckDefinition<FullContext>>, withApp, extra)
}

/**
 * `hcctl check`: the app-level checks (with --app), then for each hybrid connection its
 * configuration, keys, listeners, the network from this machine and the round trip.
 */
export async function runCheck(input: CheckInput): Promise<CheckRunResult> {
  const now = input.now ?? Date.now
  const timeoutMs = input.timeoutMs ?? 10_000
  const web = new WebApi(input.arm, input.subscriptionId, input.signal)
  const results: CheckResult[] = []
  const targets: Array<{namespace: string; name: string; resourceGroup: string; webRelay?: HybridContext['webRelay']}> = []
  let app: AppFacts | undefined

  // ARM first: if it cannot be reached, say so once (net.arm) and skip what needs it.
  let armHost: string
  try {
    armHost = new URL(input.cloud.armEndpoint).host
  } catch {
    armHost = input.cloud.armEndpoint
  }
  const reach = await runChecks([netArm], {arm: input.arm, subscriptionId: input.subscriptionId, armHost, signal: input.signal}, {signal: input.signal, onResult: input.onResult})
  results.push(...reach)
  if (reach[0]!.status === 'fail') {
    const rest = input.app
      ? skippedBecause(APP_CHECKS, netArm.id)
      : skippedBecause(perHybridConnectionChecks(false, input.extra), netArm.id, input.hybridConnection ? `${input.hybridConnection.namespace}/${input.hybridConnection.name}` : undefined)
    for (const r of rest) input.onResult?.(r)
    results.push(...rest)
  } else if (input.app) {
    app = {ref: input.app}
    const only = input.hybridConnection ? relayKey(input.hybridConnection.namespace, input.hybridConnection.name) : undefined
    const ctx: AppContext = {web, app, only}
    const appResults = await runChecks(APP_CHECKS, ctx, {signal: input.signal, onResult: input.onResult})
    results.push(...appResults)
    for (const w of app.relays ?? []) {
      const key = relayOf(w)!
      const fromUri = w.properties?.relayArmUri ? tryParseHybridConnectionId(w.properties.relayArmUri) : undefined
      targets.push({namespace: key.namespace, name: key.name, resourceGroup: fromUri?.resourceGroup ?? input.hybridConnection?.resourceGroup ?? input.app.resourceGroup, webRelay: w})
    }
  } else if (input.hybridConnection?.resourceGroup) {
    const h = input.hybridConnection
    targets.push({namespace: h.namespace, name: h.name, resourceGroup: h.resourceGroup!})
  }

  const extra = extraContext(input.extra ?? {}, web, input.app)
  for (const t of targets) {
    const host = relayHost(input.cloud, t.namespace)
    const appFlag = input.app ? ` --app ${input.app.app} --resource-group ${input.app.resourceGroup}${input.app.slot ? ` --slot ${input.app.slot}` : ''}` : ''
    const relayRg = input.app && t.resourceGroup.toLowerCase() !== input.app.resourceGroup.toLowerCase() ? ` --relay-resource-group ${t.resourceGroup}` : ''
    const at = `${t.name} --namespace ${t.namespace} --resource-group ${t.resourceGroup}`
    const ctx: FullContext = {
      web,
      relay: input.relay,
      arm: input.arm,
      subscriptionId: input.subscriptionId,
      app,
      webRelay: t.webRelay,
      relayRef: {resourceGroup: t.resourceGroup, namespace: t.namespace, name: t.name},
      names: {
        agent: `hcctl agent ${at}`,
        endpointSet: `hcctl endpoint set ${at} --endpoint HOST:PORT`,
        attach: input.app ? `hcctl attach ${t.name} --namespace ${t.namespace}${appFlag}${relayRg}` : `hcctl attach ${t.name} --namespace ${t.namespace} --app APP --resource-group RG`,
        rotate: `hcctl keys rotate ${at}`,
      },
      // network
      ...networkPart(input.cloud, host, t.name),
      env: input.env ?? process.env,
      now,
      timeoutMs,
      signal: input.signal,
      net: {},
      // round trip
      cloud: input.cloud,
      namespace: t.namespace,
      hybridConnection: t.name,
      roundTrip: {...input.roundTrip, connect: input.connect},
      ...extra,
    } as FullContext
    results.push(...(await runChecks(perHybridConnectionChecks(Boolean(input.app), input.extra), ctx, {target: `${t.namespace}/${t.name}`, signal: input.signal, onResult: input.onResult})))
  }

  return {
    ...buildReport(results, input.strict),
    subject: {
      ...(input.app ? {app: input.app.slot ? `${input.app.app}/${input.app.slot}` : input.app.app, resourceGroup: input.app.resourceGroup} : {resourceGroup: input.hybridConnection?.resourceGroup}),
      hybridConnections: targets.map((t) => `${t.namespace}/${t.name}`),
    },
  }
}

function networkPart(cloud: CloudProfile, host: string, hybridConnection: string): Pick<NetworkContext, 'relayTarget' | 'redirected' | 'expectedIssuer' | 'hybridConnection'> {
  const address = cloud.relayAddress
  return {
    relayTarget: {host, connectHost: address?.host ?? host, connectPort: address?.port ?? 443, ca: cloud.ca},
    redirected: Boolean(address),
    expectedIssuer: cloud.ca ? undefined : PUBLIC_RELAY_ISSUER,
    hybridConnection,
  }
}
