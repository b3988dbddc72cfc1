import {strict as assert} from 'node:assert'
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import fc from 'fast-check'

import {hybridConnectionLimit, resolveSku} from '../../../src/emulator/arm/skus.js'
import {StateRelayDirectory} from '../../../src/emulator/directory.js'
import {applySeed, DEMO_SEED, endpointOf, loadSeed} from '../../../src/emulator/seed.js'
import {armTime, freshState, StateStore} from '../../../src/emulator/state.js'

function seeded(): StateStore {
  const store = new StateStore(freshState())
  applySeed(store, {
    resourceGroups: [{name: 'rg'}],
    namespaces: [
      {resourceGroup: 'rg', name: 'alpha-ns', hybridConnections: [{name: 'orders'}, {name: 'orders/eu'}, {name: 'shared'}]},
      {resourceGroup: 'rg', name: 'beta-ns', hybridConnections: [{name: 'shared'}, {name: 'billing', defaultRules: true}]},
    ],
  }, '.servicebus.localhost')
  return store
}

describe('emulator state, seeds and the relay directory', () => {
  it('resolves the longest whole-segment hybrid connection name, case-insensitively, with the rest as suffix', () => {
    const dir = new StateRelayDirectory(seeded())
    assert.deepEqual(dir.namespaces(), ['alpha-ns', 'beta-ns'])
    const r = dir.resolve('ALPHA-NS', 'Orders/EU/path/x')
    assert.equal(r?.entity.name, 'orders/eu')
    assert.equal(r?.suffix, 'path/x')
    assert.equal(dir.resolve('alpha-ns', 'orders/euro')?.entity.name, 'orders')
    assert.equal(dir.resolve('alpha-ns', 'ordersx'), undefined)
    assert.equal(dir.resolve('alpha-ns', '/orders')?.suffix, '')
    assert.equal(dir.resolve(undefined, 'billing/a')?.entity.namespace, 'beta-ns', 'bare IP: unambiguous name')
    assert.equal(dir.resolve(undefined, 'shared'), undefined, 'bare IP: ambiguous name')
    const billing = dir.resolve('beta-ns', 'billing')!.entity
    assert.deepEqual(billing.rules.map((x) => [x.name, x.rights]), [['defaultListener', ['Listen']], ['defaultSender', ['Send']]])
    assert.equal(billing.namespaceRules[0]?.name, 'RootManageSharedAccessKey')
    assert.equal(billing.requiresClientAuthorization, true)
  })

  it('the demo seed: a Standard plan with an app, a namespace, a hybrid connection with endpoint metadata and default rules; idempotent', () => {
    const store = new StateStore(freshState())
    assert.ok(applySeed(store, loadSeed('demo'), '.servicebus.localhost') > 0)
    assert.equal(applySeed(store, DEMO_SEED, '.servicebus.localhost'), 0)
    assert.equal(store.data.plans[0]?.sku.tier, 'Standard')
    const hc = store.data.namespaces[0]!.hybridConnections[0]!
    assert.deepEqual(endpointOf(hc.userMetadata), {host: 'localhost', port: 8080})
    assert.deepEqual(hc.rules.map((r) => r.name), ['defaultListener', 'defaultSender'])
  })

  it('seed attachments create the Web contract with the send key; bad seeds name the problem', () => {
    const store = seeded()
    applySeed(store, {
      plans: [{resourceGroup: 'rg', name: 'p', sku: 'B1'}],
      sites: [{resourceGroup: 'rg', name: 'app', plan: 'p', slots: ['staging']}],
      namespaces: [{resourceGroup: 'rg', name: 'alpha-ns', hybridConnections: [{name: 'db', endpoint: 'db:5432'}]}],
      attachments: [{resourceGroup: 'rg', site: 'app', namespace: 'alpha-ns', hybridConnection: 'db'}],
    }, '.servicebus.localhost')
    const web = store.data.sites[0]!.hybridConnections[0]!
    assert.equal(web.hostname, 'db')
    assert.equal(web.sendKeyName, 'defaultSender')
    assert.equal(web.sendKeyValue, store.data.namespaces[0]!.hybridConnections.find((h) => h.name === 'db')!.rules[0]!.primaryKey)
    assert.throws(() => applySeed(store, {plans: [{resourceGroup: 'ghost', name: 'x'}]}, ''), /resource group "ghost"/)
    assert.throws(() => applySeed(store, {plans: [{resourceGroup: 'rg', name: 'x', sku: 'Q7'}]}, ''), /unknown sku/)
    assert.throws(() => loadSeed('/nonexistent/seed.json'), /Cannot read the seed file/)
  })

  it('endpointOf never throws and only accepts host:port with a valid port (property)', () => {
    fc.assert(
      fc.property(fc.string({maxLength: 60}), (text) => {
        const r = endpointOf(text)
        if (r) assert.ok(r.port >= 1 && r.port <= 65535)
      }),
    )
    assert.deepEqual(endpointOf('[{"key":"Endpoint","value":"[::1]:22"}]'), {host: '::1', port: 22})
    assert.equal(endpointOf('[{"key":"endpoint","value":"host"}]'), undefined)
  })

  it('skus: names and tiers map to the service tiers; limits per tier', () => {
    assert.equal(resolveSku({name: 'p1v3'})?.tier, 'PremiumV3')
    assert.equal(resolveSku({name: 'P1v3'})?.name, 'P1v3')
    assert.equal(resolveSku({tier: 'isolatedv2'})?.tier, 'IsolatedV2')
    assert.equal(resolveSku({name: 'Y1'})?.tier, 'Dynamic')
    assert.equal(resolveSku({name: 'nope'}), undefined)
    assert.deepEqual(hybridConnectionLimit('Basic'), {eligible: true, maximum: 5, scope: 'plan'})
    assert.deepEqual(hybridConnectionLimit('Standard'), {eligible: true, maximum: 25, scope: 'plan'})
    assert.deepEqual(hybridConnectionLimit('IsolatedV2'), {eligible: true, maximum: 220, scope: 'app'})
    assert.equal(hybridConnectionLimit('Free').eligible, false)
    assert.equal(hybridConnectionLimit('Dynamic').eligible, false)
  })

  it('saves atomically (no temp files left) and reopens what it saved; rejects a corrupt file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcctl-state-'))
    try {
      const file = join(dir, 'state.json')
      const a = StateStore.open(file)
      applySeed(a, DEMO_SEED, '.servicebus.localhost')
      a.save()
      assert.deepEqual(readdirSync(dir), ['state.json'])
      const b = StateStore.open(file)
      assert.deepEqual(b.data, a.data)
      writeFileSync(file, '{broken')
      assert.throws(() => StateStore.open(file), /not valid JSON/)
      assert.match(readFileSync(file, 'utf8'), /broken/, 'a corrupt file is left for the user')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
    assert.match(armTime(new Date('2024-01-02T03:04:05.678Z')), /^2024-01-02T03:04:05\.6780000Z$/)
  })
})
