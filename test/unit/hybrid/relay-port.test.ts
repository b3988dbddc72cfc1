import {strict as assert} from 'node:assert'

import {AzureArmClient} from '../../../src/lib/azure/arm-client.js'
import {staticTokenCredential} from '../../../src/lib/azure/credentials.js'
import {relayPortFromArm, statusOf} from '../../../src/lib/hybrid/relay-port.js'
import {TEST_CLOUD, fakeTransport, json, type Step} from '../azure/fake-transport.js'

const cloud = TEST_CLOUD
const SUB = '00000000-0000-0000-0000-000000000001'
const NS = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Relay/namespaces/contoso`
const HC = `${NS}/hybridConnections/db01`

function port(steps: Step[]) {
  const fake = fakeTransport(steps)
  const arm = new AzureArmClient({cloud, credential: staticTokenCredential('t'), subscriptionId: SUB, transport: fake.transport, sleep: fake.sleep, now: fake.now, random: () => 0.5})
  const paths = () => fake.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)
  return {relay: relayPortFromArm(arm, SUB), requests: fake.requests, paths}
}

describe('the Relay port over plain ARM calls (no @azure/arm-relay)', () => {
  it('reads a hybrid connection from its ARM shape (properties) at the table api-version; a 404 is undefined', async () => {
    const body = {id: HC, name: 'db01', properties: {requiresClientAuthorization: true, userMetadata: '[{"key":"endpoint","value":"db01:1433"}]', listenerCount: 2, createdAt: '2026-01-01T00:00:00Z'}}
    const {relay, requests, paths} = port([json(200, body), json(404, {error: {code: 'NotFound', message: 'gone'}})])
    assert.deepEqual(await relay.getHybridConnection('rg', 'contoso', 'db01'), {
      id: HC,
      name: 'db01',
      requiresClientAuthorization: true,
      userMetadata: '[{"key":"endpoint","value":"db01:1433"}]',
      listenerCount: 2,
      createdAt: '2026-01-01T00:00:00Z',
    })
    assert.equal(await relay.getHybridConnection('rg', 'contoso', 'nope'), undefined)
    assert.deepEqual(paths(), [`GET ${HC}`, `GET ${NS}/hybridConnections/nope`])
    assert.equal(new URL(requests[0]!.url).searchParams.get('api-version'), '2021-11-01')
  })

  it('lists every page of a namespace\'s hybrid connections (listener counts default to 0, client authorization to true)', async () => {
    const list = `https://arm.example.test${NS}/hybridConnections`
    const {relay, paths} = port([json(200, {value: [{name: 'a', properties: {listenerCount: 1}}], nextLink: `${list}?api-version=2021-11-01&skip=1`}), json(200, {value: [{name: 'b', properties: {requiresClientAuthorization: false}}]})])
    const hcs = await relay.listHybridConnections('rg', 'contoso')
    assert.deepEqual(
      hcs.map((h) => [h.name, h.listenerCount, h.requiresClientAuthorization]),
      [
        ['a', 1, true],
        ['b', 0, false],
      ],
    )
    assert.deepEqual(paths(), [`GET ${NS}/hybridConnections`, `GET ${NS}/hybridConnections`])
  })

  it('creates a namespace (Standard) and follows its provisioning state to the end', async () => {
    const {relay, requests, paths} = port([
      json(201, {id: NS, name: 'contoso', location: 'westeurope', properties: {provisioningState: 'Created'}}),
      json(200, {id: NS, name: 'contoso', location: 'westeurope', properties: {provisioningState: 'Succeeded'}}),
    ])
    assert.deepEqual(await relay.createNamespace('rg', 'contoso', 'westeurope'), {id: NS, name: 'contoso', location: 'westeurope', provisioningState: 'Succeeded'})
    assert.deepEqual(paths(), [`PUT ${NS}`, `GET ${NS}`])
    assert.deepEqual(JSON.parse(requests[0]!.body!), {location: 'westeurope', sku: {name: 'Standard', tier: 'Standard'}})
  })

  it('writes hybrid connections and rules with ARM bodies (properties), deletes, and reads rules', async () => {
    const {relay, requests, paths} = port([
      json(200, {id: HC, name: 'db01', properties: {requiresClientAuthorization: true, userMetadata: 'm'}}),
      json(200, {name: 'defaultListener', properties: {rights: ['Listen']}}),
      json(200, {value: [{id: `${HC}/authorizationRules/defaultListener`, name: 'defaultListener', properties: {rights: ['Listen']}}]}),
      json(404, {error: {code: 'NotFound', message: 'no rule'}}),
      {status: 204},
    ])
    assert.equal((await relay.putHybridConnection('rg', 'contoso', 'db01', {requiresClientAuthorization: true, userMetadata: 'm'})).userMetadata, 'm')
    assert.deepEqual(await relay.putRule('rg', 'contoso', 'db01', 'defaultListener', ['Listen']), {name: 'defaultListener', rights: ['Listen']})
    assert.deepEqual(await relay.listRules('rg', 'contoso', 'db01'), [{id: `${HC}/authorizationRules/defaultListener`, name: 'defaultListener', rights: ['Listen']}])
    assert.equal(await relay.getRule('rg', 'contoso', 'db01', 'other'), undefined)
    await relay.deleteHybridConnection('rg', 'contoso', 'db01')
    assert.deepEqual(paths(), [`PUT ${HC}`, `PUT ${HC}/authorizationRules/defaultListener`, `GET ${HC}/authorizationRules`, `GET ${HC}/authorizationRules/other`, `DELETE ${HC}`])
    assert.deepEqual(JSON.parse(requests[0]!.body!), {properties: {requiresClientAuthorization: true, userMetadata: 'm'}})
    assert.deepEqual(JSON.parse(requests[1]!.body!), {properties: {rights: ['Listen']}})
  })

  it('listKeys and regenerateKeys are retried after a 503 (arm-retry: a repeated regenerateKeys only gives the slot another fresh key, and its answer is the key in force)', async () => {
    const keys = {keyName: 'defaultSender', primaryKey: 'p', secondaryKey: 's', primaryConnectionString: 'Endpoint=sb://x/;SharedAccessKeyName=defaultSender;SharedAccessKey=p'}
    const fresh = {...keys, primaryKey: 'p2', primaryConnectionString: 'Endpoint=sb://x/;SharedAccessKeyName=defaultSender;SharedAccessKey=p2'}
    const busy = json(503, {error: {code: 'ServiceUnavailable', message: 'busy'}})
    const {relay, requests, paths} = port([busy, json(200, keys), busy, json(200, fresh)])
    assert.deepEqual(await relay.listKeys('rg', 'contoso', 'db01', 'defaultSender'), keys)
    assert.deepEqual(await relay.regenerateKey('rg', 'contoso', 'db01', 'defaultSender', 'PrimaryKey'), fresh)
    const regenerate = `POST ${HC}/authorizationRules/defaultSender/regenerateKeys`
    assert.deepEqual(paths(), [`POST ${HC}/authorizationRules/defaultSender/listKeys`, `POST ${HC}/authorizationRules/defaultSender/listKeys`, regenerate, regenerate])
    assert.deepEqual(JSON.parse(requests[3]!.body!), {keyType: 'PrimaryKey'})
  })

  it('lists the namespaces of the subscription; other failures carry their status for the callers to explain', async () => {
    const {relay, paths} = port([json(200, {value: [{id: NS, name: 'contoso', location: 'westeurope'}]}), json(409, {error: {code: 'Conflict', message: 'busy'}})])
    assert.deepEqual(await relay.listNamespaces(), [{id: NS, name: 'contoso', location: 'westeurope'}])
    assert.equal(statusOf(await relay.getNamespace('rg', 'contoso').catch((e: unknown) => e)), 409)
    assert.deepEqual(paths(), [`GET /subscriptions/${SUB}/providers/Microsoft.Relay/namespaces`, `GET ${NS}`])
  })
})
