import {strict as assert} from 'node:assert'

import type {ArmClient, ArmRequest, ArmResponse} from '../../../src/lib/azure/arm-types.js'
import {PUBLIC_CLOUDS} from '../../../src/lib/azure/clouds.js'
import {resolveAppHybridConnection, resolveHybridConnectionByName} from '../../../src/lib/hybrid/connection-lookup.js'
import {parseSasToken} from '../../../src/lib/relay/sas.js'

const SUB = '00000000-0000-0000-0000-000000000001'
const HC = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Relay/namespaces/contoso/hybridConnections/sql01`

/** A fake ARM: a map of paths to bodies, recording every call. */
function fakeArm(resources: Record<string, unknown>): ArmClient & {calls: string[]} {
  const calls: string[] = []
  return {
    subscriptionId: SUB,
    calls,
    async request<T>(r: ArmRequest): Promise<ArmResponse<T>> {
      calls.push(`${r.method} ${r.path}`)
      if (r.method === 'PUT') {
        resources[r.path] = r.body
        return {status: 200, headers: {}, body: r.body as T}
      }
      const body = resources[`${r.method} ${r.path}`]
      if (body === undefined) throw Object.assign(new Error('404'), {exitCode: 4})
      return {status: 200, headers: {}, body: body as T}
    },
    async get<T>(path: string): Promise<T | undefined> {
      calls.push(`GET ${path}`)
      return resources[path] as T | undefined
    },
    async list<T>(path: string): Promise<T[]> {
      calls.push(`GET ${path}`)
      return ((resources[path] as {value?: T[]} | undefined)?.value ?? []) as T[]
    },
  }
}

describe('ARM lookups for agent and forward', () => {
  const cloud = PUBLIC_CLOUDS.AzureCloud!

  it('by name: reads the endpoint, creates defaultListener when missing, signs with its key', async () => {
    const arm = fakeArm({
      [HC]: {properties: {userMetadata: '[{"key":"endpoint","value":"db01:1433"}]'}},
      [`POST ${HC}/authorizationRules/defaultListener/listKeys`]: {primaryKey: 'k1', keyName: 'defaultListener'},
    })
    const r = await resolveHybridConnectionByName({arm, cloud, subscriptionId: SUB}, {namespace: 'contoso', name: 'sql01', resourceGroup: 'rg'}, 'Listen')
    assert.deepEqual(r.endpoint, {host: 'db01', port: 1433})
    assert.equal(r.credentials.host, 'contoso.servicebus.windows.net')
    assert.ok(arm.calls.includes(`PUT ${HC}/authorizationRules/defaultListener`))
    assert.equal(parseSasToken(r.credentials.token()).skn, 'defaultListener')
  })

  it('by name: an existing rule without the right is an auth error naming it; a missing HC is not found', async () => {
    const arm = fakeArm({
      [HC]: {properties: {userMetadata: '[{"key":"endpoint","value":"db01:1433"}]'}},
      [`${HC}/authorizationRules/defaultSender`]: {properties: {rights: ['Listen']}},
    })
    await assert.rejects(resolveHybridConnectionByName({arm, cloud, subscriptionId: SUB}, {namespace: 'contoso', name: 'sql01', resourceGroup: 'rg'}, 'Send'), /lacks the Send right/)
    await assert.rejects(resolveHybridConnectionByName({arm, cloud, subscriptionId: SUB}, {namespace: 'contoso', name: 'nope', resourceGroup: 'rg'}, 'Send'), (e: Error & {exitCode?: number}) => e.exitCode === 4)
    await assert.rejects(resolveHybridConnectionByName({arm, cloud, subscriptionId: SUB}, {namespace: 'contoso', name: 'sql01'}, 'Send'), /--resource-group/)
  })

  it('by app: uses the app\'s own Send key from the plan-level listKeys', async () => {
    const site = `/subscriptions/${SUB}/resourceGroups/web/providers/Microsoft.Web/sites/app1`
    const plan = `/subscriptions/${SUB}/resourceGroups/plans/providers/Microsoft.Web/serverfarms/p1`
    const arm = fakeArm({
      [site]: {properties: {serverFarmId: plan}},
      [`${site}/hybridConnectionRelays`]: {value: [{name: 'sql01', properties: {serviceBusNamespace: 'contoso', relayName: 'sql01', hostname: 'db01', port: 1433, sendKeyName: 'defaultSender', serviceBusSuffix: '.servicebus.windows.net'}}]},
      [`POST ${plan}/hybridConnectionNamespaces/contoso/relays/sql01/listKeys`]: {properties: {sendKeyName: 'defaultSender', sendKeyValue: 'appkey'}},
    })
    const r = await resolveAppHybridConnection({arm, cloud, subscriptionId: SUB}, {app: 'app1', resourceGroup: 'web', hc: 'sql01'})
    assert.deepEqual(r.endpoint, {host: 'db01', port: 1433})
    assert.equal(r.credentials.host, 'contoso.servicebus.windows.net')
    assert.equal(parseSasToken(r.credentials.token()).skn, 'defaultSender')
    await assert.rejects(resolveAppHybridConnection({arm, cloud, subscriptionId: SUB}, {app: 'app1', resourceGroup: 'web', hc: 'other'}), /has no hybrid connection "other"/)
  })
})
