import {strict as assert} from 'node:assert'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type Emulator, type SeedFile, startEmulator} from '../../../src/emulator/index.js'
import {runCli} from '../../helpers/cli.js'
import {call, expectOk} from './helpers.js'

/**
 * Azure's resource providers read JSON property names and query parameter names without regard
 * to case, and answer with their own spelling; Azure has PATCH on resource groups, plans, apps
 * and slots. The emulator must do both, or a client that works against Azure fails here.
 */

/**
 * The App Service documentation's armclient example ("Azure App Service Hybrid Connections",
 * section on attaching with armclient): the hctest.json file as the docs print it, with
 * `hostName` spelled with a capital N and the relay in another resource group (myrelay-rg)
 * than the app (myapp-rg). Only the docs' placeholder subscription id is replaced by the
 * emulator's, and `serviceBusSuffix` (which the current page adds) is kept as printed.
 */
function docsHctestJson(subscriptionId: string): string {
  return `{
  "name": "relay-demo-hc",
  "type": "Microsoft.Relay/Namespaces/HybridConnections",
  "location": "North Central US",
  "properties": {
    "serviceBusNamespace": "demo-relay",
    "relayName": "relay-demo-hc",
    "relayArmUri": "/subscriptions/${subscriptionId}/resourceGroups/myrelay-rg/providers/Microsoft.Relay/namespaces/demo-relay/hybridconnections/relay-demo-hc",
    "hostName": "my-wkstn.home",
    "port": 1433,
    "sendKeyName": "defaultSender",
    "sendKeyValue": "Th9is3is8a82lot93of3774stu887ff122235=",
    "serviceBusSuffix": ".servicebus.windows.net"
  }
}
`
}

const SEED: SeedFile = {
  resourceGroups: [{name: 'myapp-rg'}, {name: 'myrelay-rg'}, {name: 'rg-hc', tags: {team: 'web'}}],
  plans: [
    {resourceGroup: 'myapp-rg', name: 'myhcdemo-plan', sku: 'S1'},
    {resourceGroup: 'myapp-rg', name: 'other-plan', sku: 'B1'},
  ],
  sites: [{resourceGroup: 'myapp-rg', name: 'myhcdemoapp', plan: 'myhcdemo-plan', slots: ['staging']}],
  namespaces: [{resourceGroup: 'myrelay-rg', name: 'demo-relay', hybridConnections: [{name: 'relay-demo-hc', endpoint: 'my-wkstn.home:1433', defaultRules: true}]}],
}

/** Every property name of a JSON value, at any depth (to assert Azure's spelling in answers). */
function keysOf(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysOf(v, out)
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.add(k)
      keysOf(v, out)
    }
  }
  return out
}

describe('emulator ARM: property names without regard to case, and PATCH where Azure has it', function () {
  this.timeout(60_000)
  let emu: Emulator
  let dir: string
  let env: NodeJS.ProcessEnv
  let rg: (name: string) => string

  before(async () => {
    emu = await startEmulator({inMemory: true, seed: SEED, lroPolls: 0})
    dir = mkdtempSync(join(tmpdir(), 'hcctl-case-'))
    env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emu.stateDir}
    rg = (name) => `/subscriptions/${emu.subscriptionId}/resourceGroups/${name}`
  })

  after(async () => {
    await emu?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  describe('case-insensitive reading', () => {
    it('a site hybrid connection PUT with hostName (capital N) is stored and answered as hostname', async () => {
      const path = `${rg('myapp-rg')}/providers/Microsoft.Web/sites/myhcdemoapp/slots/staging/hybridConnectionNamespaces/demo-relay/relays/relay-demo-hc`
      const r = await call(emu, 'PUT', path, {
        body: {Properties: {ServiceBusNamespace: 'demo-relay', RelayName: 'relay-demo-hc', HostName: 'db.corp', PORT: 1433, SendKeyName: 'defaultSender', SendKeyValue: 'k'}},
      })
      assert.equal(r.status, 200, r.text)
      assert.equal(r.json.properties.hostname, 'db.corp')
      assert.equal(r.json.properties.port, 1433)
      assert.equal(r.json.properties.sendKeyName, 'defaultSender')
      const names = keysOf(r.json)
      for (const wrong of ['HostName', 'hostName', 'Properties', 'PORT', 'SendKeyName']) assert.ok(!names.has(wrong), `the answer spells ${wrong} as Azure does`)
      await expectOk(call(emu, 'DELETE', path))
    })

    it('api-version is found whatever the case of its name; a missing one is still refused', async () => {
      const ok = await call(emu, 'GET', `${rg('myapp-rg')}?API-Version=2021-04-01`, {apiVersion: null})
      assert.equal(ok.status, 200, ok.text)
      assert.equal(ok.json.name, 'myapp-rg')
      const missing = await call(emu, 'GET', rg('myapp-rg'), {apiVersion: null})
      assert.equal(missing.status, 400)
      assert.equal(missing.json.error.code, 'MissingApiVersionParameter')
    })

    it('resource groups, plans, apps, namespaces, hybrid connections and rules read any casing', async () => {
      const g = await call(emu, 'PUT', rg('rg-case'), {body: {LOCATION: 'westeurope', Tags: {Owner: 'Ops'}}})
      assert.equal(g.status, 201, g.text)
      assert.equal(g.json.location, 'westeurope')
      assert.deepEqual(g.json.tags, {Owner: 'Ops'}, 'tag names are data: kept as sent')

      const plan = await call(emu, 'PUT', `${rg('rg-case')}/providers/Microsoft.Web/serverfarms/p1`, {body: {Location: 'westeurope', Sku: {Name: 'B1'}, Kind: 'app'}})
      assert.ok(plan.status === 200 || plan.status === 202, plan.text)
      assert.equal(plan.json.sku.name, 'B1')
      const planId = plan.json.id as string

      const site = await call(emu, 'PUT', `${rg('rg-case')}/providers/Microsoft.Web/sites/case-app-1`, {body: {Location: 'westeurope', properties: {ServerFarmID: planId}}})
      assert.equal(site.status, 200, site.text)
      assert.equal(site.json.properties.serverFarmId, planId)

      const ns = await call(emu, 'PUT', `${rg('rg-case')}/providers/Microsoft.Relay/namespaces/case-relay-1`, {body: {Location: 'westeurope', SKU: {NAME: 'Standard'}}})
      assert.equal(ns.status, 200, ns.text)
      const hc = await call(emu, 'PUT', `${rg('rg-case')}/providers/Microsoft.Relay/namespaces/case-relay-1/hybridConnections/hc1`, {
        body: {PROPERTIES: {RequiresClientAuthorization: false, UserMetadata: '[{"key":"endpoint","value":"db:1"}]'}},
      })
      assert.equal(hc.status, 200, hc.text)
      assert.equal(hc.json.properties.requiresClientAuthorization, false)
      assert.equal(hc.json.properties.userMetadata, '[{"key":"endpoint","value":"db:1"}]')
      const rule = await call(emu, 'PUT', `${rg('rg-case')}/providers/Microsoft.Relay/namespaces/case-relay-1/hybridConnections/hc1/authorizationRules/send`, {body: {Properties: {Rights: ['Send']}}})
      assert.equal(rule.status, 200, rule.text)
      assert.deepEqual(rule.json.properties.rights, ['Send'])
      const regen = await call(emu, 'POST', `${rg('rg-case')}/providers/Microsoft.Relay/namespaces/case-relay-1/hybridConnections/hc1/authorizationRules/send/regenerateKeys`, {body: {KeyType: 'SecondaryKey', Key: 'bXkta2V5'}})
      assert.equal(regen.status, 200, regen.text)
      assert.equal(regen.json.secondaryKey, 'bXkta2V5')
      const name = await call(emu, 'POST', `/subscriptions/${emu.subscriptionId}/providers/Microsoft.Relay/checkNameAvailability`, {body: {NAME: 'case-relay-1'}})
      assert.equal(name.json.nameAvailable, false)
    })
  })

  describe('PATCH', () => {
    it('a resource group PATCH replaces its tags ({} clears them) and keeps its location; an unknown group is 404', async () => {
      const patched = await call(emu, 'PATCH', rg('rg-hc'), {body: {tags: {env: 'dev', owner: 'hc'}}})
      assert.equal(patched.status, 200, patched.text)
      assert.deepEqual(patched.json.tags, {env: 'dev', owner: 'hc'})
      assert.equal((await call(emu, 'GET', rg('rg-hc'))).json.tags.team, undefined, 'the tags are replaced, not merged')
      const cleared = await call(emu, 'PATCH', rg('rg-hc'), {body: {tags: {}}})
      assert.deepEqual(cleared.json.tags ?? {}, {}, 'no tags left')
      const missing = await call(emu, 'PATCH', rg('rg-nowhere'), {body: {tags: {a: 'b'}}})
      assert.equal(missing.status, 404)
      assert.equal(missing.json.error.code, 'ResourceGroupNotFound')
      const bad = await call(emu, 'PATCH', rg('rg-hc'), {body: {tags: ['a']}})
      assert.equal(bad.status, 400)
    })

    it('a plan PATCH merges kind; sku and tags are not part of it (Azure scales with PUT)', async () => {
      const path = `${rg('myapp-rg')}/providers/Microsoft.Web/serverfarms/other-plan`
      const r = await call(emu, 'PATCH', path, {body: {kind: 'app', sku: {name: 'P1v3'}}})
      assert.equal(r.status, 200, r.text)
      assert.equal(r.json.kind, 'app')
      assert.equal(r.json.sku.name, 'B1', 'PATCH does not scale')
    })

    it('an app PATCH moves it to another plan and a slot PATCH merges its kind; a missing app is 404', async () => {
      const other = `${rg('myapp-rg')}/providers/Microsoft.Web/serverfarms/other-plan`
      const own = `${rg('myapp-rg')}/providers/Microsoft.Web/serverfarms/myhcdemo-plan`
      const app = `${rg('myapp-rg')}/providers/Microsoft.Web/sites/myhcdemoapp`
      const moved = await call(emu, 'PATCH', app, {body: {properties: {serverFarmId: other}}})
      assert.equal(moved.status, 200, moved.text)
      assert.equal(moved.json.properties.serverFarmId.toLowerCase(), other.toLowerCase())
      assert.equal((await call(emu, 'GET', app)).json.properties.sku, 'Basic')
      await expectOk(call(emu, 'PATCH', app, {body: {properties: {serverFarmId: own}}}))
      const slot = await call(emu, 'PATCH', `${app}/slots/staging`, {body: {kind: 'app,linux'}})
      assert.equal(slot.status, 200, slot.text)
      assert.equal(slot.json.kind, 'app,linux')
      assert.equal((await call(emu, 'GET', app)).json.kind, 'app', 'the slot PATCH leaves the app alone')
      const missing = await call(emu, 'PATCH', `${rg('myapp-rg')}/providers/Microsoft.Web/sites/nope`, {body: {kind: 'app'}})
      assert.equal(missing.status, 404)
    })

    it('Relay hybrid connections have no PATCH in Azure: 405', async () => {
      const r = await call(emu, 'PATCH', `${rg('myrelay-rg')}/providers/Microsoft.Relay/namespaces/demo-relay/hybridConnections/relay-demo-hc`, {body: {properties: {}}})
      assert.equal(r.status, 405)
    })
  })

  describe('hcctl against it (real processes)', () => {
    it("replays the App Service docs' armclient example with hcctl arm put @hctest.json; hcctl list then shows it", async () => {
      const file = join(dir, 'hctest.json')
      writeFileSync(file, docsHctestJson(emu.subscriptionId))
      const url = `/subscriptions/${emu.subscriptionId}/resourceGroups/myapp-rg/providers/Microsoft.Web/sites/myhcdemoapp/hybridConnectionNamespaces/demo-relay/relays/relay-demo-hc?api-version=2016-08-01`
      const put = await runCli(['arm', 'put', url, '@hctest.json'], {env, cwd: dir})
      assert.equal(put.code, 0, put.stderr)
      const answer = JSON.parse(put.stdout) as {properties: Record<string, unknown>}
      assert.equal(answer.properties.hostname, 'my-wkstn.home')
      assert.equal(answer.properties.port, 1433)
      assert.equal(answer.properties.sendKeyValue, '', 'Azure never answers the key')

      const listed = await runCli(['list', '--json'], {env})
      assert.equal(listed.code, 0, listed.stderr)
      const rows = listed.json<{rows: Array<Record<string, unknown>>}>().rows
      const row = rows.find((r) => r.app === 'myhcdemoapp')
      assert.ok(row, `hcctl list shows the attached connection: ${listed.stdout}`)
      assert.equal(row.namespace, 'demo-relay')
      assert.equal(row.hybridConnection, 'relay-demo-hc')
      assert.equal(row.endpoint, 'my-wkstn.home:1433')
      const table = await runCli(['list'], {env})
      assert.equal(table.code, 0, table.stderr)
      assert.match(table.stdout, /myhcdemoapp\s.*demo-relay\s.*relay-demo-hc\s.*my-wkstn\.home:1433/)
    })

    it("the README's `hcctl arm patch .../resourceGroups/rg-hc?api-version=2022-09-01 - < tags.json` works", async () => {
      const url = `/subscriptions/{subscriptionId}/resourceGroups/rg-hc?api-version=2022-09-01`
      const r = await runCli(['arm', 'patch', url, '-'], {env, input: '{"tags": {"costCenter": "42", "env": "test"}}'})
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(JSON.parse(r.stdout).tags, {costCenter: '42', env: 'test'})
      assert.deepEqual(emu.state.resourceGroup(emu.subscriptionId, 'rg-hc')?.tags, {costCenter: '42', env: 'test'})
    })
  })
})
