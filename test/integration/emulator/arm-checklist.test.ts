import {strict as assert} from 'node:assert'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {call, expectOk, scaffold, tokenFor, webHcBody} from './helpers.js'

/** arm-surface.md §12, one behaviour per test, over raw HTTPS. */
describe('emulator ARM: the §12 checklist over raw HTTPS', () => {
  let emu: Emulator
  let s: Awaited<ReturnType<typeof scaffold>>
  before(async () => {
    emu = await startEmulator({inMemory: true, lroPolls: 2})
    s = await scaffold(emu)
  })
  after(async () => emu.stop())

  it('1. names and path segments match case-insensitively; names keep their casing; ids use canonical segments', async () => {
    await expectOk(call(emu, 'PUT', `${s.nsPath}/hybridConnections/MixedCase`, {body: {}}))
    const upper = s.nsPath.replace('resourceGroups', 'RESOURCEGROUPS').replace('Microsoft.Relay', 'MICROSOFT.RELAY').replace('relay-ns1', 'RELAY-NS1')
    const r = await expectOk(call(emu, 'GET', `${upper}/HYBRIDCONNECTIONS/mixedcase`))
    assert.equal(r.json.name, 'MixedCase')
    assert.equal(r.json.id, `/subscriptions/${emu.subscriptionId}/resourceGroups/rg1/providers/Microsoft.Relay/namespaces/relay-ns1/hybridConnections/MixedCase`)
    assert.equal(r.json.id.split('/')[8], 'relay-ns1', 'az CLI reads the namespace at index 8')
    assert.equal(r.json.type, 'Microsoft.Relay/namespaces/hybridConnections')
    const list = await expectOk(call(emu, 'GET', `/subscriptions/${emu.subscriptionId}/providers/Microsoft.Relay/namespaces`))
    assert.ok(list.json.value[0].id.includes('/resourceGroups/'), 'the exact segment resourceGroups (az CLI scans for it)')
  })

  it('2. namespace PUT answers Created/Activating and flips to Succeeded/Active after polls; DELETE 202 + Location, 202 with Removing, then 200', async () => {
    const path = `${s.rg}/providers/Microsoft.Relay/namespaces/lro-namespace`
    const put = await expectOk(call(emu, 'PUT', path, {body: {location: 'West US 2', sku: {name: 'Standard', tier: 'Standard'}}}))
    assert.equal(put.status, 200)
    assert.equal(put.json.properties.provisioningState, 'Created')
    assert.equal(put.json.properties.status, 'Activating')
    assert.equal(put.json.type, 'Microsoft.Relay/Namespaces')
    assert.equal(put.json.properties.serviceBusEndpoint, 'https://lro-namespace.servicebus.localhost:443/')
    const states: string[] = []
    for (let i = 0; i < 3; i++) states.push((await call(emu, 'GET', path)).json.properties.provisioningState)
    assert.deepEqual(states, ['Created', 'Succeeded', 'Succeeded'])
    await expectOk(call(emu, 'PUT', `${path}/hybridConnections/child`, {body: {}}))
    const del = await call(emu, 'DELETE', path)
    assert.equal(del.status, 202)
    const location = String(del.headers.location)
    assert.match(location, /\/namespaces\/lro-namespace\/operationresults\/lro-namespace\?api-version=2017-04-01$/)
    const poll1 = await call(emu, 'GET', location)
    assert.equal(poll1.status, 202)
    assert.equal(poll1.json.properties.status, 'Removing')
    assert.equal((await call(emu, 'GET', location)).status, 202)
    const done = await call(emu, 'GET', location)
    assert.equal(done.status, 200)
    assert.equal(done.text, '')
    assert.equal((await call(emu, 'GET', path)).status, 404)
    assert.equal((await call(emu, 'GET', `${path}/hybridConnections/child`)).status, 404, 'children are gone')
  })

  it('3. HC PUT {} defaults requiresClientAuthorization true, listenerCount 0, createdAt = updatedAt with 7 fractional digits, no userMetadata', async () => {
    const r = await expectOk(call(emu, 'PUT', `${s.nsPath}/hybridConnections/bare`, {body: {}}))
    assert.equal(r.json.properties.requiresClientAuthorization, true)
    assert.equal(r.json.properties.listenerCount, 0)
    assert.equal(r.json.properties.createdAt, r.json.properties.updatedAt)
    assert.match(r.json.properties.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/)
    assert.ok(!('userMetadata' in r.json.properties))
    assert.ok(!('systemData' in r.json), 'no systemData before 2021-11-01')
    const v2021 = await expectOk(call(emu, 'GET', `${s.nsPath}/hybridConnections/bare`, {apiVersion: '2021-11-01'}))
    assert.ok(v2021.json.systemData)
  })

  it('4. rules: rights validated, keys are 32 random bytes, connection strings carry EntityPath, regenerate only the named key, explicit key', async () => {
    const rule = `${s.hcPath}/authorizationRules/sender`
    const bad = await call(emu, 'PUT', rule, {body: {properties: {rights: ['Send', 'Write']}}})
    assert.equal(bad.status, 400)
    assert.match(bad.json.error.message, /'Write' is not valid/)
    assert.equal((await call(emu, 'PUT', rule, {body: {properties: {rights: []}}})).status, 400)
    assert.equal((await call(emu, 'PUT', rule, {body: {properties: {rights: ['Send', 'send']}}})).status, 400)
    await expectOk(call(emu, 'PUT', rule, {body: {properties: {rights: ['Send']}}}))
    const keys = (await expectOk(call(emu, 'POST', `${rule}/listKeys`))).json
    assert.equal(Buffer.from(keys.primaryKey, 'base64').length, 32)
    assert.equal(keys.primaryKey.length, 44)
    assert.equal(keys.primaryConnectionString, `Endpoint=sb://relay-ns1.servicebus.localhost/;SharedAccessKeyName=sender;SharedAccessKey=${keys.primaryKey};EntityPath=hc1`)
    // Rule PUT again keeps the keys.
    await expectOk(call(emu, 'PUT', rule, {body: {properties: {rights: ['Send', 'Listen']}}}))
    assert.equal((await call(emu, 'POST', `${rule}/listKeys`)).json.primaryKey, keys.primaryKey)
    const regen = (await expectOk(call(emu, 'POST', `${rule}/regenerateKeys`, {body: {keyType: 'PrimaryKey'}}))).json
    assert.notEqual(regen.primaryKey, keys.primaryKey)
    assert.equal(regen.secondaryKey, keys.secondaryKey)
    assert.equal(regen.secondaryConnectionString, keys.secondaryConnectionString)
    const explicit = (await expectOk(call(emu, 'POST', `${rule}/regenerateKeys`, {body: {keyType: 'SecondaryKey', key: 'my-explicit-key'}}))).json
    assert.equal(explicit.secondaryKey, 'my-explicit-key')
    assert.equal((await call(emu, 'POST', `${rule}/regenerateKeys`, {body: {keyType: 'TertiaryKey'}})).status, 400)
  })

  it('5. every namespace has RootManageSharedAccessKey [Listen, Manage, Send]; new HCs have no rules', async () => {
    const ns = await expectOk(call(emu, 'GET', `${s.nsPath}/authorizationRules`))
    assert.deepEqual(ns.json.value.map((r: {name: string; properties: {rights: string[]}}) => [r.name, r.properties.rights]), [['RootManageSharedAccessKey', ['Listen', 'Manage', 'Send']]])
    const root = await expectOk(call(emu, 'POST', `${s.nsPath}/authorizationRules/RootManageSharedAccessKey/listKeys`))
    assert.doesNotMatch(root.json.primaryConnectionString, /EntityPath/)
    const rules = await expectOk(call(emu, 'GET', `${s.nsPath}/hybridConnections/bare/authorizationRules`))
    assert.deepEqual(rules.json.value, [])
  })

  it('6. deletes: Relay 200 then 204 when absent; Web site HC 200 then 404; plan HC 200 then 204', async () => {
    await expectOk(call(emu, 'PUT', `${s.nsPath}/hybridConnections/doomed`, {body: {}}))
    assert.equal((await call(emu, 'DELETE', `${s.nsPath}/hybridConnections/doomed`)).status, 200)
    assert.equal((await call(emu, 'DELETE', `${s.nsPath}/hybridConnections/doomed`)).status, 204)
    assert.equal((await call(emu, 'DELETE', `${s.nsPath}/hybridConnections/bare/authorizationRules/nope`)).status, 204)
    assert.equal((await call(emu, 'DELETE', `${s.rg}/providers/Microsoft.Relay/namespaces/never-existed`)).status, 204)
    const webHc = `${s.sitePath}/hybridConnectionNamespaces/relay-ns1/relays/hc1`
    await expectOk(call(emu, 'PUT', webHc, {body: webHcBody(s, 'relay-ns1', 'hc1')}))
    assert.equal((await call(emu, 'DELETE', webHc)).status, 200)
    const again = await call(emu, 'DELETE', webHc)
    assert.equal(again.status, 404)
    assert.equal(again.json.Code, 'NotFound', 'App Service legacy error shape')
    await expectOk(call(emu, 'PUT', webHc, {body: webHcBody(s, 'relay-ns1', 'hc1')}))
    const planHc = `${s.planId}/hybridConnectionNamespaces/relay-ns1/relays/hc1`
    assert.equal((await call(emu, 'DELETE', planHc)).status, 200)
    assert.equal((await call(emu, 'DELETE', planHc)).status, 204)
    assert.equal((await call(emu, 'GET', webHc)).status, 404, 'the plan-level delete removed it from the app')
  })

  it('7. Web HC: sendKeyValue blanked in PUT/PATCH/GET/list but kept for plan listKeys; types; list shape; plan aggregation; limits', async () => {
    const webHc = `${s.sitePath}/hybridConnectionNamespaces/relay-ns1/relays/hc1`
    const put = await expectOk(call(emu, 'PUT', webHc, {body: webHcBody(s, 'relay-ns1', 'hc1')}))
    assert.equal(put.json.properties.sendKeyValue, '')
    assert.equal(put.json.type, 'Microsoft.Web/sites/hybridConnectionNamespaces/relays')
    assert.equal(put.json.name, 'hc1')
    assert.equal(put.json.location, 'westeurope')
    const patched = await expectOk(call(emu, 'PATCH', webHc, {body: {properties: {sendKeyValue: 'rotated-key', sendKeyName: 'defaultSender'}}}))
    assert.equal(patched.json.properties.sendKeyValue, '')
    assert.equal(patched.json.properties.hostname, 'db.internal', 'PATCH merges')
    const list = await expectOk(call(emu, 'GET', `${s.sitePath}/hybridConnectionRelays`))
    assert.deepEqual(Object.keys(list.json).sort(), ['id', 'nextLink', 'value'])
    assert.equal(list.json.nextLink, null)
    assert.equal(list.json.id, null)
    for (const k of ['hostname', 'port', 'relayArmUri', 'relayName', 'serviceBusNamespace', 'serviceBusSuffix']) assert.ok(k in list.json.value[0].properties, k)
    assert.equal(list.json.value[0].properties.sendKeyValue, '')
    // A slot and a second app on the same plan use the same connection: the plan counts it once.
    await expectOk(call(emu, 'PUT', `${s.sitePath}/slots/staging`, {body: {location: 'westeurope'}}))
    const slotHc = await expectOk(call(emu, 'PUT', `${s.sitePath}/slots/staging/hybridConnectionNamespaces/relay-ns1/relays/hc1`, {body: webHcBody(s, 'relay-ns1', 'hc1')}))
    // Real Azure answers a slot's contract with the app-level type (recorded: test/contract).
    assert.equal(slotHc.json.type, 'Microsoft.Web/sites/hybridConnectionNamespaces/relays')
    assert.match(slotHc.json.id, /\/slots\/staging\/hybridConnectionNamespaces\/relay-ns1\/relays\/hc1$/)
    await expectOk(call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/app2`, {body: {location: 'westeurope', kind: 'functionapp', properties: {serverFarmId: s.planId}}}))
    await expectOk(call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/app2/hybridConnectionNamespaces/relay-ns1/relays/hc1`, {body: webHcBody(s, 'relay-ns1', 'hc1')}))
    const planList = await expectOk(call(emu, 'GET', `${s.planId}/hybridConnectionRelays`))
    assert.equal(planList.json.value.length, 1)
    assert.equal(planList.json.value[0].type, 'Microsoft.Web/serverfarms/hybridConnectionNamespaces/relays')
    const planGet = await expectOk(call(emu, 'GET', `${s.planId}/hybridConnectionNamespaces/RELAY-NS1/relays/HC1`))
    assert.equal(planGet.json.properties.sendKeyValue, '')
    const planKeys = await expectOk(call(emu, 'POST', `${s.planId}/hybridConnectionNamespaces/relay-ns1/relays/hc1/listKeys`))
    assert.equal(planKeys.json.properties.sendKeyValue, 'rotated-key')
    const sites = await expectOk(call(emu, 'GET', `${s.planId}/hybridConnectionNamespaces/relay-ns1/relays/hc1/sites`))
    assert.deepEqual(sites.json.value.map((x: {name: string}) => x.name).sort(), ['app1', 'app1/staging', 'app2'])
    assert.equal(sites.json.value[0].id.split('/')[4], 'rg1')
    const limit = await expectOk(call(emu, 'GET', `${s.planId}/hybridConnectionPlanLimits/limit`))
    assert.deepEqual(limit.json.properties, {current: 1, maximum: 25})
    assert.equal(limit.json.name, 'limit')
  })

  it('7b. attach is refused on Free, Shared and Dynamic plans and beyond the Basic limit of 5 per plan (counted once per connection)', async () => {
    for (const [sku, plan, app] of [['F1', 'free-plan', 'free-app'], ['D1', 'shared-plan', 'shared-app'], ['Y1', 'dyn-plan', 'dyn-app']] as const) {
      await expectOk(call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/serverfarms/${plan}`, {body: {location: 'westeurope', sku: {name: sku}}}))
      await expectOk(call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/${app}`, {body: {location: 'westeurope', kind: 'functionapp', properties: {serverFarmId: `${s.rg}/providers/Microsoft.Web/serverfarms/${plan}`}}}))
      const r = await call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/${app}/hybridConnectionNamespaces/relay-ns1/relays/hc1`, {body: webHcBody(s, 'relay-ns1', 'hc1')})
      assert.equal(r.status, 400, sku)
      assert.equal(r.json.Code, 'BadRequest')
      assert.match(r.json.Message, /not available/)
      const lim = await expectOk(call(emu, 'GET', `${s.rg}/providers/Microsoft.Web/serverfarms/${plan}/hybridConnectionPlanLimits/limit`))
      assert.equal(lim.json.properties.maximum, 0)
    }
    await expectOk(call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/serverfarms/basic-plan`, {body: {location: 'westeurope', sku: {name: 'B1', tier: 'Basic'}}}))
    const farm = `${s.rg}/providers/Microsoft.Web/serverfarms/basic-plan`
    for (const app of ['basic-a', 'basic-b']) await expectOk(call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/${app}`, {body: {location: 'westeurope', properties: {serverFarmId: farm}}}))
    for (let i = 1; i <= 5; i++) {
      await expectOk(call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/basic-a/hybridConnectionNamespaces/relay-ns1/relays/c${i}`, {body: webHcBody(s, 'relay-ns1', `c${i}`)}))
    }
    // The same five on another app of the plan still count once.
    for (let i = 1; i <= 5; i++) {
      await expectOk(call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/basic-b/hybridConnectionNamespaces/relay-ns1/relays/c${i}`, {body: webHcBody(s, 'relay-ns1', `c${i}`)}))
    }
    const sixth = await call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/basic-b/hybridConnectionNamespaces/relay-ns1/relays/c6`, {body: webHcBody(s, 'relay-ns1', 'c6')})
    assert.equal(sixth.status, 409)
    assert.match(sixth.json.Message, /maximum number of Hybrid Connections \(5\)/)
    const bad = await call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/basic-a/hybridConnectionNamespaces/relay-ns1/relays/c1`, {body: {properties: {hostname: 'x'}}})
    assert.equal(bad.status, 400, 'a port is required')
  })

  it('8. errors: ResourceGroupNotFound before provider logic, ResourceNotFound for tracked resources, ARM vs Web shapes', async () => {
    const noRg = await call(emu, 'PUT', `/subscriptions/${emu.subscriptionId}/resourceGroups/nope/providers/Microsoft.Relay/namespaces/x`, {body: {}})
    assert.equal(noRg.status, 404)
    assert.deepEqual(noRg.json, {error: {code: 'ResourceGroupNotFound', message: "Resource group 'nope' could not be found."}})
    const noSite = await call(emu, 'GET', `${s.rg}/providers/Microsoft.Web/sites/ghost`)
    assert.equal(noSite.json.error.code, 'ResourceNotFound')
    const noPlan = await call(emu, 'GET', `${s.rg}/providers/Microsoft.Web/serverfarms/ghost`)
    assert.equal(noPlan.status, 404)
    const noNs = await call(emu, 'GET', `${s.rg}/providers/Microsoft.Relay/namespaces/ghost-ns`)
    assert.equal(noNs.json.error.code, 'ResourceNotFound')
    const noWebHc = await call(emu, 'GET', `${s.sitePath}/hybridConnectionNamespaces/x/relays/y`)
    assert.equal(noWebHc.json.Code, 'NotFound')
    assert.ok(Array.isArray(noWebHc.json.Details))
    const noSub = await call(emu, 'GET', '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups')
    assert.equal(noSub.json.error.code, 'SubscriptionNotFound')
    const invalidJson = await call(emu, 'PUT', `${s.nsPath}/hybridConnections/x`, {rawBody: '{nope'})
    assert.equal(invalidJson.json.error.code, 'InvalidRequestContent')
    const unknown = await call(emu, 'GET', `${s.rg}/providers/Microsoft.Storage/storageAccounts`)
    assert.equal(unknown.status, 400)
  })

  it('8b. api-version: missing is 400 MissingApiVersionParameter; unknown is 400; every client version is accepted', async () => {
    const missing = await call(emu, 'GET', s.nsPath, {apiVersion: null})
    assert.equal(missing.status, 400)
    assert.equal(missing.json.error.code, 'MissingApiVersionParameter')
    assert.equal((await call(emu, 'GET', s.nsPath, {apiVersion: '1999-01-01'})).status, 400)
    for (const v of ['2017-04-01', '2021-11-01', '2024-01-01']) assert.equal((await call(emu, 'GET', s.nsPath, {apiVersion: v})).status, 200, v)
    for (const v of ['2021-03-01', '2022-03-01', '2023-12-01', '2024-11-01', '2025-05-01']) assert.equal((await call(emu, 'GET', s.sitePath, {apiVersion: v})).status, 200, v)
    assert.equal((await call(emu, 'GET', s.sitePath, {apiVersion: '2026-01-01'})).status, 400)
  })

  it('9. headers: x-ms-request-id, correlation id echoed, client request id when asked, remaining reads/writes/deletes', async () => {
    const r = await call(emu, 'GET', s.nsPath, {headers: {'x-ms-correlation-request-id': 'corr-123', 'x-ms-client-request-id': 'client-1', 'x-ms-return-client-request-id': 'true'}})
    assert.match(String(r.headers['x-ms-request-id']), /^[0-9a-f-]{36}$/)
    assert.equal(r.headers['x-ms-correlation-request-id'], 'corr-123')
    assert.equal(r.headers['x-ms-client-request-id'], 'client-1')
    assert.match(String(r.headers['x-ms-ratelimit-remaining-subscription-reads']), /^\d+$/)
    const w = await call(emu, 'PUT', `${s.nsPath}/hybridConnections/hdr`, {body: {}})
    assert.match(String(w.headers['x-ms-ratelimit-remaining-subscription-writes']), /^\d+$/)
    assert.match(String(w.headers['x-ms-correlation-request-id']), /^[0-9a-f-]{36}$/, 'generated when not sent')
    const d = await call(emu, 'DELETE', `${s.nsPath}/hybridConnections/hdr`)
    assert.match(String(d.headers['x-ms-ratelimit-remaining-subscription-deletes']), /^\d+$/)
    const e = await call(emu, 'GET', `${s.nsPath}/hybridConnections/nothing-here`)
    assert.ok(e.headers['x-ms-request-id'], 'errors carry the request id too')
  })

  it('9b. faults: 429 with Retry-After and SubscriptionRequestsThrottled, 5xx, latency; the admin endpoint is Contributor-only', async () => {
    emu.setFaults('arm.429=1,arm.retryAfter=3,arm.500=1')
    const throttled = await call(emu, 'GET', s.nsPath)
    assert.equal(throttled.status, 429)
    assert.equal(throttled.headers['retry-after'], '3')
    assert.equal(throttled.json.error.code, 'SubscriptionRequestsThrottled')
    assert.equal((await call(emu, 'GET', s.nsPath)).status, 500)
    assert.equal((await call(emu, 'GET', s.nsPath)).status, 200)
    const readerTry = await call(emu, 'POST', '/emulator/admin/faults', {apiVersion: null, token: tokenFor(emu, 'reader'), rawBody: 'arm.503=1'})
    assert.equal(readerTry.status, 403)
    assert.equal((await call(emu, 'POST', '/emulator/admin/faults', {apiVersion: null, token: null, rawBody: 'arm.503=1'})).status, 401)
    const set = await call(emu, 'POST', '/emulator/admin/faults', {apiVersion: null, body: {spec: 'arm.5xx=1,arm.latency=150ms,relay.refuseRendezvous=503'}})
    assert.equal(set.status, 200, set.text)
    assert.deepEqual(set.json.relay, {refuseRendezvous: 503})
    const started = Date.now()
    assert.equal((await call(emu, 'GET', s.nsPath)).status, 503)
    assert.ok(Date.now() - started >= 140, 'latency applied')
    assert.equal((await call(emu, 'POST', '/emulator/admin/faults', {apiVersion: null, rawBody: 'arm.teapot=1'})).status, 400)
    const cleared = await call(emu, 'DELETE', '/emulator/admin/faults', {apiVersion: null})
    assert.deepEqual(cleared.json, {arm: {queue: [], retryAfterSeconds: 1, latencyMs: 0, rates: {}, seed: 1}, relay: {}})
    const dropped = await call(emu, 'POST', '/emulator/admin/relay/drop-listeners', {apiVersion: null, body: {}})
    assert.equal(dropped.json.dropped, 0)
    // The request log: the 429 above with its Retry-After and times, readable by the Contributor only.
    const log = await call(emu, 'GET', '/emulator/admin/requests', {apiVersion: null})
    assert.equal(log.status, 200, log.text)
    const record = (log.json.value as Array<{status: number; retryAfter?: number; arrivedAt: number; answeredAt: number; injected?: boolean; requestId: string}>).find((r) => r.status === 429)!
    assert.equal(record.retryAfter, 3)
    assert.equal(record.injected, true)
    assert.ok(record.answeredAt >= record.arrivedAt && record.requestId)
    assert.equal((await call(emu, 'GET', '/emulator/admin/requests', {apiVersion: null, token: tokenFor(emu, 'reader')})).status, 403)
    assert.deepEqual((await call(emu, 'DELETE', '/emulator/admin/requests', {apiVersion: null})).json, {value: []})
  })

  it('10. paging: nextLink with $skipToken for namespace, HC, rule and plan lists', async () => {
    emu.setPageSize(1)
    try {
      for (const path of [`${s.nsPath}/hybridConnections`, `/subscriptions/${emu.subscriptionId}/providers/Microsoft.Web/serverfarms`, `${s.rg}/providers/Microsoft.Web/sites`]) {
        const seen: string[] = []
        let next: string | undefined = path
        let pages = 0
        while (next) {
          const r = await expectOk(call(emu, 'GET', next))
          seen.push(...r.json.value.map((x: {name: string}) => x.name))
          next = r.json.nextLink ?? undefined
          if (next) assert.match(next, /^https:\/\/127\.0\.0\.1:\d+\/.*\$skipToken=\d+/)
          pages++
        }
        assert.ok(pages > 1, `${path} paged`)
        assert.equal(new Set(seen).size, seen.length, 'no item twice')
      }
    } finally {
      emu.setPageSize(100)
    }
  })

  it('Reader: reads work; writes, deletes, listKeys and every POST action get 403 AuthorizationFailed', async () => {
    const reader = tokenFor(emu, 'reader')
    assert.equal((await call(emu, 'GET', s.hcPath, {token: reader})).status, 200)
    assert.equal((await call(emu, 'GET', `${s.sitePath}/hybridConnectionRelays`, {token: reader})).status, 200)
    const attempts: Array<[string, string, unknown]> = [
      ['PUT', `${s.nsPath}/hybridConnections/by-reader`, {}],
      ['DELETE', s.hcPath, undefined],
      ['POST', `${s.nsPath}/authorizationRules/RootManageSharedAccessKey/listKeys`, undefined],
      ['POST', `${s.nsPath}/authorizationRules/RootManageSharedAccessKey/regenerateKeys`, {keyType: 'PrimaryKey'}],
      ['POST', `/subscriptions/${emu.subscriptionId}/providers/Microsoft.Relay/checkNameAvailability`, {name: 'abcdef'}],
      ['POST', `${s.planId}/hybridConnectionNamespaces/relay-ns1/relays/hc1/listKeys`, undefined],
      ['POST', `${s.sitePath}/extensions/api/command`, {command: 'tcpping localhost:1'}],
      ['PUT', `/subscriptions/${emu.subscriptionId}/resourceGroups/reader-rg`, {location: 'westeurope'}],
    ]
    for (const [method, path, body] of attempts) {
      const r = await call(emu, method, path, {token: reader, body})
      assert.equal(r.status, 403, `${method} ${path}`)
      assert.equal(r.json.error.code, 'AuthorizationFailed')
      assert.match(r.json.error.message, /does not have authorization to perform action '.+\/(write|delete|action)'/)
    }
  })

  it('resource groups: PUT 201 then 200, GET, HEAD, list, DELETE 202 + Location cascading', async () => {
    const rg = `/subscriptions/${emu.subscriptionId}/resourceGroups/temp-rg`
    assert.equal((await call(emu, 'PUT', rg, {body: {location: 'westeurope'}})).status, 201)
    assert.equal((await call(emu, 'PUT', rg, {body: {location: 'westeurope', tags: {a: 'b'}}})).status, 200)
    assert.equal((await call(emu, 'PUT', rg, {body: {location: 'eastus'}})).status, 409)
    assert.equal((await call(emu, 'HEAD', rg)).status, 204)
    assert.equal((await call(emu, 'GET', rg)).json.tags.a, 'b')
    await expectOk(call(emu, 'PUT', `${rg}/providers/Microsoft.Relay/namespaces/temp-namespace`, {body: {location: 'westeurope'}}))
    const del = await call(emu, 'DELETE', rg)
    assert.equal(del.status, 202)
    assert.equal((await call(emu, 'GET', String(del.headers.location))).status, 200)
    assert.equal((await call(emu, 'HEAD', rg)).status, 404)
    assert.equal((await call(emu, 'GET', rg)).json.error.code, 'ResourceGroupNotFound')
    const names = (await call(emu, 'GET', `/subscriptions/${emu.subscriptionId}/resourceGroups`)).json.value.map((g: {name: string}) => g.name)
    assert.ok(!names.includes('temp-rg'))
    assert.equal((await call(emu, 'POST', `/subscriptions/${emu.subscriptionId}/providers/Microsoft.Relay/checkNameAvailability`, {body: {name: 'temp-namespace'}})).json.nameAvailable, true)
  })

  it('plans and sites: PUT plan as LRO (202 + Location, then Succeeded), sku tiers, site kinds, lists, global site names', async () => {
    const plan = `${s.rg}/providers/Microsoft.Web/serverfarms/p3-plan`
    const put = await call(emu, 'PUT', plan, {body: {location: 'westeurope', sku: {name: 'P1v3'}, kind: 'linux', properties: {reserved: true}}})
    assert.equal(put.status, 202)
    assert.equal(put.json.properties.provisioningState, 'InProgress')
    let poll = await call(emu, 'GET', String(put.headers.location))
    assert.equal(poll.status, 202)
    poll = await call(emu, 'GET', String(put.headers.location))
    assert.equal(poll.status, 200)
    assert.equal(poll.json.sku.tier, 'PremiumV3')
    assert.equal(poll.json.properties.provisioningState, 'Succeeded')
    for (const [name, tier] of [['I1v2', 'IsolatedV2'], ['I1', 'Isolated'], ['P1v2', 'PremiumV2'], ['P1', 'Premium'], ['S2', 'Standard'], ['B3', 'Basic']]) {
      const r = await call(emu, 'PUT', plan, {body: {sku: {name}}})
      assert.equal(r.json.sku.tier, tier, name)
    }
    assert.equal((await call(emu, 'PUT', plan, {body: {sku: {tier: 'STANDARD'}}})).json.sku.tier, 'Standard')
    assert.equal((await call(emu, 'PUT', plan, {body: {sku: {name: 'Z9'}}})).status, 400)
    const site = await expectOk(call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/linux-app`, {body: {location: 'westeurope', kind: 'app,linux', properties: {serverFarmId: plan.toUpperCase()}}}))
    assert.equal(site.json.kind, 'app,linux')
    assert.equal(site.json.properties.serverFarmId, plan)
    assert.equal(site.json.properties.reserved, true)
    const taken = await call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/LINUX-APP`, {body: {location: 'westeurope', properties: {serverFarmId: plan}}})
    assert.equal(taken.status, 200, 'same app again is an update')
    await expectOk(call(emu, 'PUT', `/subscriptions/${emu.subscriptionId}/resourceGroups/other-rg`, {body: {location: 'westeurope'}}))
    const clash = await call(emu, 'PUT', `/subscriptions/${emu.subscriptionId}/resourceGroups/other-rg/providers/Microsoft.Web/sites/linux-app`, {body: {location: 'westeurope', properties: {serverFarmId: plan}}})
    assert.equal(clash.status, 409)
    const noFarm = await call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/orphan`, {body: {location: 'westeurope', properties: {serverFarmId: `${s.rg}/providers/Microsoft.Web/serverfarms/ghost`}}})
    assert.equal(noFarm.status, 404)
    const bySub = await expectOk(call(emu, 'GET', `/subscriptions/${emu.subscriptionId}/providers/Microsoft.Web/sites`))
    assert.ok(bySub.json.value.some((x: {name: string}) => x.name === 'linux-app'))
    const slots = await expectOk(call(emu, 'GET', `${s.sitePath}/slots`))
    assert.deepEqual(slots.json.value.map((x: {name: string}) => x.name), ['app1/staging'])
  })

  it('namespace PATCH updates tags; plan DELETE is refused while apps use it; site, slot and plan deletes', async () => {
    const patched = await expectOk(call(emu, 'PATCH', s.nsPath, {body: {tags: {team: 'ops'}}}))
    assert.deepEqual(patched.json.tags, {team: 'ops'})
    const busy = await call(emu, 'DELETE', s.planId)
    assert.equal(busy.status, 409)
    assert.equal(busy.json.Code, 'Conflict')
    await expectOk(call(emu, 'PUT', `${s.sitePath}/slots/gone`, {body: {}}))
    assert.equal((await call(emu, 'DELETE', `${s.sitePath}/slots/gone`)).status, 200)
    assert.equal((await call(emu, 'DELETE', `${s.sitePath}/slots/gone`)).status, 404)
    const farm = `${s.rg}/providers/Microsoft.Web/serverfarms/lonely-plan`
    await call(emu, 'PUT', farm, {body: {location: 'westeurope', sku: {name: 'B1'}}})
    await expectOk(call(emu, 'PUT', `${s.rg}/providers/Microsoft.Web/sites/lonely-app`, {body: {location: 'westeurope', properties: {serverFarmId: farm}}}))
    assert.equal((await call(emu, 'DELETE', `${s.rg}/providers/Microsoft.Web/sites/lonely-app`)).status, 200)
    assert.equal((await call(emu, 'DELETE', `${s.rg}/providers/Microsoft.Web/sites/lonely-app`)).status, 404)
    assert.equal((await call(emu, 'DELETE', farm)).status, 200)
    assert.equal((await call(emu, 'DELETE', farm)).status, 204)
  })
})
