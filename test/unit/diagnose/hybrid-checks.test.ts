import {strict as assert} from 'node:assert'

import {type AppContext, appPlanLimit, configEndpointHost, configMetadata, type HybridContext, keysMatch, listenerRedundancy} from '../../../src/lib/diagnose/check/hybrid.js'
import type {RelayPort} from '../../../src/lib/hybrid/relay-port.js'

const names = {agent: 'hcctl agent hc --namespace ns --resource-group rg', endpointSet: 'hcctl endpoint set hc --namespace ns --resource-group rg --endpoint HOST:PORT', attach: 'hcctl attach hc', rotate: 'hcctl keys rotate hc --namespace ns --resource-group rg'}

function ctx(extra: Partial<HybridContext> = {}): HybridContext {
  return {relay: {} as RelayPort, arm: {} as HybridContext['arm'], subscriptionId: 'sub', relayRef: {resourceGroup: 'rg', namespace: 'ns', name: 'hc'}, names, ...extra}
}

const forbidden = () => Object.assign(new Error('AuthorizationFailed'), {statusCode: 403})

describe('hybrid connection checks (fakes)', () => {
  it('localhost fails on a Linux app, warns on a Windows app; an IP always fails', async () => {
    const linux = await configEndpointHost.run(ctx({endpoint: {host: 'localhost', port: 80}, app: {ref: {resourceGroup: 'rg', app: 'a'}, linux: true}}))
    assert.equal(linux.status, 'fail')
    assert.match(linux.evidence[0]!, /This app runs on Linux/)
    const windows = await configEndpointHost.run(ctx({endpoint: {host: 'localhost', port: 80}, app: {ref: {resourceGroup: 'rg', app: 'a'}, linux: false}}))
    assert.equal(windows.status, 'warn')
    const ip = await configEndpointHost.run(ctx({endpoint: {host: '10.0.0.4', port: 1433}}))
    assert.equal(ip.status, 'fail')
    assert.equal((await configEndpointHost.run(ctx({endpoint: {host: 'db01.corp', port: 1433}}))).status, 'pass')
  })

  it('metadata with two endpoint items fails with the reason', async () => {
    const r = await configMetadata.run(ctx({relayHc: {id: '', name: 'hc', requiresClientAuthorization: true, listenerCount: 0, userMetadata: '[{"key":"endpoint","value":"a:1"},{"key":"endpoint","value":"b:2"}]'}}))
    assert.equal(r.status, 'fail')
    assert.match(r.evidence[0]!, /2 "endpoint" items/)
    assert.match(r.remedy!, /hcctl endpoint set hc/)
  })

  it('keys.match: an empty app key fails naming attach and keys rotate; a Reader is skipped naming the permission', async () => {
    const relay = {listKeys: async () => ({keyName: 'defaultSender', primaryKey: 'P', secondaryKey: 'S'})} as unknown as RelayPort
    const web = {listPlanRelayKey: async () => ({sendKeyName: 'defaultSender', sendKeyValue: ''})} as unknown as HybridContext['web']
    const app = {ref: {resourceGroup: 'rg', app: 'a'}, planId: '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Web/serverfarms/p'}
    const webRelay = {id: 'x', name: 'hc', properties: {sendKeyName: 'defaultSender'}}
    const empty = await keysMatch.run(ctx({relay, web, app, webRelay}))
    assert.equal(empty.status, 'fail')
    assert.match(empty.evidence[0]!, /is empty/)
    assert.match(empty.remedy!, /hcctl attach hc.*hcctl keys rotate hc/)
    const secondary = await keysMatch.run(ctx({relay, web: {listPlanRelayKey: async () => ({sendKeyValue: 'S'})} as unknown as HybridContext['web'], app, webRelay}))
    assert.equal(secondary.status, 'pass')
    assert.match(secondary.evidence[0]!, /secondary key/)
    const reader = await keysMatch.run(ctx({relay: {listKeys: async () => Promise.reject(forbidden())} as unknown as RelayPort, web, app, webRelay}))
    assert.equal(reader.status, 'skip')
    assert.match(reader.evidence[0]!, /authorizationRules\/listKeys\/action/)
  })

  it('config.metadata: without userMetadata the evidence names the hybrid connection in a sentence', async () => {
    const r = await configMetadata.run(ctx({relayHc: {id: '', name: 'hc', requiresClientAuthorization: true, listenerCount: 0}}))
    assert.equal(r.status, 'fail')
    assert.match(r.evidence[0]!, /^hybrid connection ns\/hc: it has no userMetadata/)
    assert.doesNotMatch(r.evidence[0]!, /hybrid connection it/)
  })

  it('keys.match: a plan listKeys answered 404 says the key could not be read and why, never that it is empty', async () => {
    const relay = {listKeys: async () => ({keyName: 'defaultSender', primaryKey: 'P', secondaryKey: 'S'})} as unknown as RelayPort
    const web = {listPlanRelayKey: async () => undefined} as unknown as HybridContext['web']
    const app = {ref: {resourceGroup: 'rg', app: 'a'}, planId: '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Web/serverfarms/p'}
    const r = await keysMatch.run(ctx({relay, web, app, webRelay: {id: 'x', name: 'hc', properties: {sendKeyName: 'defaultSender'}}}))
    assert.equal(r.status, 'skip')
    assert.match(r.evidence[0]!, /key for rule defaultSender could not be read: the plan's listKeys for ns\/hc \(plan p\) answered 404/)
    assert.doesNotMatch(r.evidence.join('\n'), /is empty/)
  })

  it('app.plan-limit: a 404 on the plan\'s hybrid connection list skips with the reason instead of failing with the raw error', async () => {
    const notFound = Object.assign(new Error('Not in the recording: GET .../hybridConnectionRelays.'), {statusCode: 404})
    const c: AppContext = {
      web: {getPlanLimit: async () => undefined, listPlanRelays: async () => Promise.reject(notFound)} as unknown as AppContext['web'],
      app: {ref: {resourceGroup: 'rg', app: 'a'}, plan: {id: '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Web/serverfarms/p', name: 'p'} as NonNullable<AppContext['app']['plan']>, tier: {eligible: true, scope: 'plan', maximum: 25} as NonNullable<AppContext['app']['tier']>},
    }
    const r = await appPlanLimit.run(c)
    assert.equal(r.status, 'skip')
    assert.match(r.evidence[0]!, /hybrid connections in the plan p could not be counted: the service answered 404/)
    const boom = Object.assign(new Error('boom'), {statusCode: 500})
    await assert.rejects(appPlanLimit.run({...c, web: {getPlanLimit: async () => Promise.reject(boom)} as unknown as AppContext['web']}), /boom/)
  })

  it('listener.redundancy warns with one agent', async () => {
    const r = await listenerRedundancy.run(ctx({relayHc: {id: '', name: 'hc', requiresClientAuthorization: true, listenerCount: 1}}))
    assert.equal(r.status, 'warn')
    assert.match(r.remedy!, /hcctl agent hc --namespace ns --resource-group rg/)
  })
})
