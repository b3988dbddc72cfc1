import {strict as assert} from 'node:assert'

import {ClientSecretCredential} from '@azure/identity'
import {RelayAPI} from '@azure/arm-relay'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {call, expectOk} from './helpers.js'

describe('emulator ARM with @azure/arm-relay (RelayAPI, api-version 2017-04-01)', () => {
  let emu: Emulator
  let api: RelayAPI
  before(async () => {
    emu = await startEmulator({inMemory: true, pageSize: 2, lroPolls: 2})
    const c = emu.principals.contributor
    const cred = new ClientSecretCredential(c.tenantId, c.clientId, c.clientSecret, {
      authorityHost: emu.authorityHost,
      disableInstanceDiscovery: true,
      tlsOptions: {ca: emu.ca},
    } as ConstructorParameters<typeof ClientSecretCredential>[3])
    api = new RelayAPI(cred, emu.subscriptionId, {endpoint: emu.armUrl, tlsOptions: {ca: emu.ca}} as ConstructorParameters<typeof RelayAPI>[2])
    await expectOk(call(emu, 'PUT', `/subscriptions/${emu.subscriptionId}/resourceGroups/sdk-rg`, {body: {location: 'westeurope'}}))
  })
  after(async () => emu.stop())

  it('namespaces: checkNameAvailability, create (LRO), get, list by group and subscription across pages', async () => {
    const free = await api.namespaces.checkNameAvailability({name: 'sdk-namespace-1'})
    assert.equal(free.nameAvailable, true)
    const ns = await api.namespaces.beginCreateOrUpdateAndWait('sdk-rg', 'sdk-namespace-1', {location: 'westeurope'}, {updateIntervalInMs: 5})
    assert.equal(ns.provisioningState, 'Succeeded')
    assert.equal((await api.namespaces.checkNameAvailability({name: 'SDK-namespace-1'})).reason, 'NameInUse')
    for (const n of ['sdk-namespace-2', 'sdk-namespace-3']) await api.namespaces.beginCreateOrUpdateAndWait('sdk-rg', n, {location: 'westeurope'}, {updateIntervalInMs: 5})
    const names: string[] = []
    for await (const n of api.namespaces.listByResourceGroup('sdk-rg')) names.push(n.name!)
    assert.deepEqual(names.sort(), ['sdk-namespace-1', 'sdk-namespace-2', 'sdk-namespace-3'])
    const all: string[] = []
    for await (const n of api.namespaces.list()) all.push(n.name!)
    assert.equal(all.length, 3)
    const rules: string[] = []
    for await (const r of api.namespaces.listAuthorizationRules('sdk-rg', 'sdk-namespace-1')) rules.push(`${r.name}:${r.rights?.join('|')}`)
    assert.deepEqual(rules, ['RootManageSharedAccessKey:Listen|Manage|Send'])
    const rootKeys = await api.namespaces.listKeys('sdk-rg', 'sdk-namespace-1', 'RootManageSharedAccessKey')
    assert.match(rootKeys.primaryConnectionString!, /^Endpoint=sb:\/\/sdk-namespace-1\.servicebus\.localhost\/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=[^;]+$/)
  })

  it('hybrid connections and their rules: create, get, list, listKeys, regenerateKeys (with and without an explicit key), delete', async () => {
    const hc = await api.hybridConnections.createOrUpdate('sdk-rg', 'sdk-namespace-1', 'orders', {userMetadata: '[{"key":"endpoint","value":"orders.local:8080"}]'})
    assert.equal(hc.requiresClientAuthorization, true)
    assert.equal(hc.listenerCount, 0)
    const got = await api.hybridConnections.get('sdk-rg', 'SDK-NAMESPACE-1', 'ORDERS')
    assert.equal(got.name, 'orders')
    await api.hybridConnections.createOrUpdateAuthorizationRule('sdk-rg', 'sdk-namespace-1', 'orders', 'defaultSender', {rights: ['Send']})
    await api.hybridConnections.createOrUpdateAuthorizationRule('sdk-rg', 'sdk-namespace-1', 'orders', 'defaultListener', {rights: ['Listen']})
    const rules: string[] = []
    for await (const r of api.hybridConnections.listAuthorizationRules('sdk-rg', 'sdk-namespace-1', 'orders')) rules.push(r.name!)
    assert.deepEqual(rules, ['defaultSender', 'defaultListener'])
    const keys = await api.hybridConnections.listKeys('sdk-rg', 'sdk-namespace-1', 'orders', 'defaultSender')
    assert.equal(Buffer.from(keys.primaryKey!, 'base64').length, 32)
    assert.match(keys.primaryConnectionString!, /;EntityPath=orders$/)
    const regen = await api.hybridConnections.regenerateKeys('sdk-rg', 'sdk-namespace-1', 'orders', 'defaultSender', {keyType: 'SecondaryKey'})
    assert.equal(regen.primaryKey, keys.primaryKey)
    assert.notEqual(regen.secondaryKey, keys.secondaryKey)
    const explicit = Buffer.alloc(32, 7).toString('base64')
    const set = await api.hybridConnections.regenerateKeys('sdk-rg', 'sdk-namespace-1', 'orders', 'defaultSender', {keyType: 'PrimaryKey', key: explicit})
    assert.equal(set.primaryKey, explicit)
    await api.hybridConnections.deleteAuthorizationRule('sdk-rg', 'sdk-namespace-1', 'orders', 'defaultListener')
    await api.hybridConnections.delete('sdk-rg', 'sdk-namespace-1', 'orders')
    await assert.rejects(api.hybridConnections.get('sdk-rg', 'sdk-namespace-1', 'orders'), (e: {statusCode?: number}) => e.statusCode === 404)
  })

  it('namespace delete runs as an LRO (202 + Location) and cascades', async () => {
    await api.namespaces.beginDeleteAndWait('sdk-rg', 'sdk-namespace-3', {updateIntervalInMs: 5})
    await assert.rejects(api.namespaces.get('sdk-rg', 'sdk-namespace-3'), (e: {statusCode?: number}) => e.statusCode === 404)
  })
})
