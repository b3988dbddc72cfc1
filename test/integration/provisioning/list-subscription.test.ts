import {strict as assert} from 'node:assert'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import type {ListResult} from '../../../src/lib/hybrid/list.js'
import {runCli} from '../../helpers/cli.js'

/**
 * `hcctl list` at subscription scope: every hybrid connection of the subscription (unattached
 * ones with no app), at a request cost the emulator counts: 1 (plans) + 1 per plan
 * (hybridConnectionRelays) + 1 per (plan, relay) pair (its apps) + 1 (namespaces) + 1 per
 * namespace (its connections). Azure has no cheaper complete source of which apps use which
 * relay (see README "Subscription-wide list").
 */
describe('list at subscription scope (real process against the emulator)', function () {
  this.timeout(60_000)
  let emulator: Emulator
  const armLines: string[] = []

  before(async () => {
    emulator = await startEmulator({inMemory: true, seed: 'demo', log: (line) => line.startsWith('ARM ') && armLines.push(line)})
  })
  after(async () => emulator?.stop())

  const env = () => ({HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir})

  it('shows the demo seed\'s unattached demo-hc, in the table and in --json', async () => {
    const table = await runCli(['list'], {env: env()})
    assert.equal(table.code, 0, table.stderr)
    assert.doesNotMatch(table.stdout, /No hybrid connections/)
    assert.match(table.stdout, /demo-relay\s.*demo-hc\s.*localhost:8080/)
    const json = await runCli(['list', '--json'], {env: env()})
    assert.equal(json.code, 0, json.stderr)
    assert.deepEqual(json.json<ListResult>().rows, [{namespace: 'demo-relay', hybridConnection: 'demo-hc', relayResourceGroup: 'hcctl-demo', endpoint: 'localhost:8080', status: 'Not connected', listenerCount: 0}])
  })

  it('costs plans + relays per plan + (plan, relay) pairs + namespaces + 2 requests, not one per app', async () => {
    // Two plans of four apps each, every app using the same two relays of a second namespace.
    const sites = ['p1', 'p2'].flatMap((plan) => [1, 2, 3, 4].map((i) => ({resourceGroup: 'apps', name: `${plan}-app${i}`, plan})))
    const seeded = await startEmulator({
      inMemory: true,
      seed: {
        resourceGroups: [{name: 'apps'}, {name: 'relay'}],
        plans: [{resourceGroup: 'apps', name: 'p1', sku: 'S1'}, {resourceGroup: 'apps', name: 'p2', sku: 'S1'}, {resourceGroup: 'apps', name: 'p3', sku: 'S1'}],
        sites,
        namespaces: [
          {resourceGroup: 'relay', name: 'ns-one', hybridConnections: [{name: 'hc-x', endpoint: 'x.corp:1433', defaultRules: true}, {name: 'hc-y', endpoint: 'y.corp:1433', defaultRules: true}]},
          {resourceGroup: 'relay', name: 'ns-two', hybridConnections: [{name: 'spare', endpoint: 'z.corp:1433', defaultRules: true}]},
        ],
        attachments: sites.flatMap((s) => ['hc-x', 'hc-y'].map((hc) => ({resourceGroup: 'apps', site: s.name, namespace: 'ns-one', hybridConnection: hc}))),
      },
      log: (line) => line.startsWith('ARM ') && armLines.push(line),
    })
    try {
      armLines.length = 0
      const r = await runCli(['list', '--json'], {env: {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: seeded.stateDir}})
      assert.equal(r.code, 0, r.stderr)
      const rows = r.json<ListResult>().rows
      assert.equal(rows.length, 16 + 1)
      assert.equal(rows.filter((x) => x.hybridConnection === 'hc-x').length, 8)
      assert.deepEqual(rows.filter((x) => !x.app).map((x) => x.hybridConnection), ['spare'])
      const plans = 3
      const pairs = 2 * 2
      const namespaces = 2
      assert.equal(armLines.length, 1 + plans + pairs + 1 + namespaces, armLines.join('\n'))
    } finally {
      await seeded.stop()
    }
  })
})
