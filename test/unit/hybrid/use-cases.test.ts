import {strict as assert} from 'node:assert'

import {attach, parseAttachFile} from '../../../src/lib/hybrid/attach.js'
import {connectionString} from '../../../src/lib/hybrid/connection-string.js'
import {create} from '../../../src/lib/hybrid/create.js'
import {disconnect} from '../../../src/lib/hybrid/disconnect.js'
import {setEndpoint} from '../../../src/lib/hybrid/endpoint-set.js'
import {list} from '../../../src/lib/hybrid/list.js'
import {planLimits} from '../../../src/lib/hybrid/plan-limits.js'
import {rotateKeys} from '../../../src/lib/hybrid/rotate.js'
import {show} from '../../../src/lib/hybrid/show.js'
import {FakeAzure, SUB, world} from './fake-azure.js'

const HC = {hybridConnection: 'onprem-sql', namespace: 'contoso-relay'}
const ATTACH = {...HC, app: 'web-1', resourceGroup: 'apps', relayResourceGroup: 'relay'}

async function rejects(p: Promise<unknown>, exitCode: number, message: RegExp) {
  await assert.rejects(p, (e: Error & {exitCode: number}) => {
    assert.equal(e.exitCode, exitCode, e.message)
    assert.match(e.message, message)
    return true
  })
}

describe('hybrid use-cases (fake Azure)', () => {
  describe('create', () => {
    it('creates the connection with metadata and both rules, then changes nothing on a re-run', async () => {
      const az = new FakeAzure().addNamespace('relay', 'contoso-relay')
      const r = await create(az.context(), {...HC, hybridConnection: 'new-hc', resourceGroup: 'relay', endpoint: 'db01.corp:1433'})
      assert.equal(r.changed, true)
      assert.deepEqual(r.steps.map((s) => `${s.resource}:${s.status}`), ['namespace:unchanged', 'hybrid connection:done', 'rule defaultListener:done', 'rule defaultSender:done'])
      const hc = az.hc('relay', 'contoso-relay', 'new-hc')!
      assert.equal(hc.userMetadata, '[{"key":"endpoint","value":"db01.corp:1433"}]')
      assert.equal(hc.requiresClientAuthorization, true)
      assert.deepEqual(az.rule('relay', 'contoso-relay', 'new-hc', 'defaultListener')!.rights, ['Listen'])
      const before = az.writes().length
      const again = await create(az.context(), {...HC, hybridConnection: 'new-hc', resourceGroup: 'relay', endpoint: 'DB01.corp:1433'})
      assert.equal(again.changed, false)
      assert.equal(az.writes().length, before)
    })

    it('is a conflict (exit 6) naming both endpoints when the connection has another one', async () => {
      await rejects(create(world().context(), {...HC, resourceGroup: 'relay', endpoint: 'other:1'}), 6, /db01\.corp:1433.*other:1[\s\S]*/)
      await create(world().context(), {...HC, resourceGroup: 'relay', endpoint: 'other:1'}).catch((e) => assert.match(e.suggestions.join(' '), /hcctl endpoint set onprem-sql/))
    })

    it('warns on an IP endpoint and refuses it with --strict before any call', async () => {
      const az = new FakeAzure().addNamespace('relay', 'contoso-relay')
      const warnings: string[] = []
      const r = await create(az.context({warn: (w) => warnings.push(w)}), {...HC, resourceGroup: 'relay', endpoint: '10.0.0.4:1433'})
      assert.match(r.warnings[0]!, /IP address/)
      assert.equal(warnings.length, 1)
      const az2 = new FakeAzure().addNamespace('relay', 'contoso-relay')
      await rejects(create(az2.context(), {...HC, resourceGroup: 'relay', endpoint: 'localhost:1433', strict: true}), 2, /localhost/)
      assert.equal(az2.calls.length, 0)
    })

    it('needs --create-namespace for a missing namespace, then creates it in the group location', async () => {
      const az = new FakeAzure()
      await rejects(create(az.context(), {...HC, resourceGroup: 'relay', endpoint: 'db:1'}), 4, /namespace contoso-relay was not found/)
      const r = await create(az.context(), {...HC, resourceGroup: 'relay', endpoint: 'db:1', createNamespace: true})
      assert.equal(r.namespace.created, true)
      assert.ok(az.hc('relay', 'contoso-relay', 'onprem-sql'))
    })

    it('--dry-run writes nothing and lists the planned calls with keys redacted', async () => {
      const az = new FakeAzure().addPlan('apps', 'plan-std', 'Standard').addApp('apps', 'web-1', {rg: 'apps', name: 'plan-std'})
      const before = az.snapshot()
      const r = await create(az.context({dryRun: true}), {...HC, resourceGroup: 'relay', endpoint: 'db:1', createNamespace: true, app: 'web-1', appResourceGroup: 'apps'})
      assert.equal(az.snapshot(), before)
      assert.equal(az.writes().length, 0)
      assert.deepEqual(r.plannedCalls!.map((c) => c.method + ' ' + c.path.split('/').slice(-2).join('/')), [
        'PUT namespaces/contoso-relay',
        'PUT hybridConnections/onprem-sql',
        'PUT authorizationRules/defaultListener',
        'PUT authorizationRules/defaultSender',
        'PUT relays/onprem-sql',
      ])
      assert.equal((r.plannedCalls![4]!.body as {properties: {sendKeyValue: string}}).properties.sendKeyValue, '***')
    })

    it('with --app checks the app before the first write', async () => {
      const az = new FakeAzure().addNamespace('relay', 'contoso-relay')
      await rejects(create(az.context(), {...HC, resourceGroup: 'relay', endpoint: 'db:1', app: 'nope'}), 4, /app nope was not found/)
      assert.equal(az.writes().length, 0)
    })
  })

  describe('attach', () => {
    it('attaches with host, port, rule, key, relay id and suffix, then is idempotent', async () => {
      const az = world()
      const r = await attach(az.context(), ATTACH)
      const props = az.site('apps', 'web-1')!.relays.get('contoso-relay/onprem-sql')!.props
      assert.deepEqual(
        {...props, sendKeyValue: props.sendKeyValue === az.rule('relay', 'contoso-relay', 'onprem-sql', 'defaultSender')!.primaryKey},
        {
          serviceBusNamespace: 'contoso-relay',
          relayName: 'onprem-sql',
          relayArmUri: `/subscriptions/${az.arm().subscriptionId}/resourceGroups/relay/providers/Microsoft.Relay/namespaces/contoso-relay/hybridConnections/onprem-sql`,
          hostname: 'db01.corp',
          port: 1433,
          sendKeyName: 'defaultSender',
          sendKeyValue: true,
          serviceBusSuffix: '.servicebus.windows.net',
        },
      )
      assert.equal(r.changed, true)
      assert.deepEqual(r.plan, {name: 'plan-std', resourceGroup: 'apps', tier: 'Standard', current: 1, maximum: 25, scope: 'plan', alreadyCounted: false})
      const again = await attach(az.context(), ATTACH)
      assert.equal(again.changed, false)
      assert.equal(again.plan.alreadyCounted, true)
    })

    it('re-writes an attachment whose key is no longer valid (the "connected but failing" trap)', async () => {
      const az = world()
      az.seedAttach('apps', 'web-1', {rg: 'relay', ns: 'contoso-relay', hc: 'onprem-sql'}, 'stale-key')
      const r = await attach(az.context(), ATTACH)
      assert.equal(r.changed, true)
      assert.match(r.steps.at(-1)!.detail!, /refreshed the send key/)
      assert.equal(az.site('apps', 'web-1')!.relays.get('contoso-relay/onprem-sql')!.props.sendKeyValue, az.rule('relay', 'contoso-relay', 'onprem-sql', 'defaultSender')!.primaryKey)
    })

    it('refuses an ineligible tier (exit 6)', async () => {
      const az = world().addPlan('apps', 'free', 'Free').addApp('apps', 'cheap', {rg: 'apps', name: 'free'})
      await rejects(attach(az.context(), {...ATTACH, app: 'cheap'}), 6, /Free plans do not support/)
    })

    it('refuses a Basic plan with 5 other connections, but allows one already counted', async () => {
      const az = world().addPlan('apps', 'basic', 'Basic')
      for (let i = 1; i <= 5; i++) {
        az.addApp('apps', `b${i}`, {rg: 'apps', name: 'basic'}).addHc('relay', 'contoso-relay', `hc${i}`)
        az.seedAttach('apps', `b${i}`, {rg: 'relay', ns: 'contoso-relay', hc: `hc${i}`}, 'k')
      }
      az.addApp('apps', 'b6', {rg: 'apps', name: 'basic'})
      await rejects(attach(az.context(), {...ATTACH, app: 'b6'}), 6, /5 of 5 hybrid connections/)
      assert.equal(az.writes().length, 0)
      const r = await attach(az.context(), {...ATTACH, hybridConnection: 'hc3', app: 'b6'})
      assert.equal(r.plan.alreadyCounted, true)
    })

    const metadataCases: Array<[string, string | null, RegExp]> = [
      ['missing metadata', null, /no userMetadata/],
      ['malformed metadata', 'db01:1433', /not JSON/],
      ['an endpoint without a port', '[{"key":"endpoint","value":"db01"}]', /port is missing/],
    ]
    for (const [what, metadata, message] of metadataCases) {
      it(`refuses ${what} (exit 6) and points to endpoint set`, async () => {
        const az = world().addHc('relay', 'contoso-relay', 'bad', {metadata})
        await assert.rejects(attach(az.context(), {...ATTACH, hybridConnection: 'bad'}), (e: Error & {exitCode: number; suggestions: string[]}) => {
          assert.equal(e.exitCode, 6)
          assert.match(e.message, message)
          assert.match(e.suggestions.join(' '), /hcctl endpoint set bad/)
          return true
        })
        assert.equal(az.writes().length, 0)
      })
    }

    it('warns on an IP host in the metadata and refuses it with --strict', async () => {
      const az = world().addHc('relay', 'contoso-relay', 'byip', {metadata: '[{"key":"endpoint","value":"10.1.1.1:1433"}]'})
      await rejects(attach(az.context(), {...ATTACH, hybridConnection: 'byip', strict: true}), 6, /IP address/)
      const r = await attach(az.context(), {...ATTACH, hybridConnection: 'byip'})
      assert.match(r.warnings.join(' '), /IP address/)
    })

    it('refuses a connection without client authorization', async () => {
      const az = world().addHc('relay', 'contoso-relay', 'open', {requiresClientAuthorization: false})
      await rejects(attach(az.context(), {...ATTACH, hybridConnection: 'open'}), 6, /does not require client authorization/)
    })

    it('explains the listKeys permission to a Reader (exit 5) before writing', async () => {
      const az = world()
      az.reader = true
      await assert.rejects(attach(az.context(), ATTACH), (e: Error & {exitCode: number; suggestions: string[]}) => {
        assert.equal(e.exitCode, 5)
        assert.match(e.message, /authorizationRules\/listKeys\/action/)
        return true
      })
    })

    it('says when the app, the slot or the relay (other group) is missing (exit 4)', async () => {
      const az = world()
      await rejects(attach(az.context(), {...ATTACH, app: 'ghost'}), 4, /app ghost was not found/)
      await rejects(attach(az.context(), {...ATTACH, slot: 'staging'}), 4, /no slot "staging"/)
      const {relayResourceGroup: _r, ...sameGroup} = ATTACH
      await assert.rejects(attach(az.context(), sameGroup), (e: Error & {exitCode: number; suggestions: string[]}) => e.exitCode === 4 && /--relay-resource-group/.test(e.suggestions.join(' ')))
    })

    it('attaches a slot', async () => {
      const az = world().addApp('apps', 'web-1', {rg: 'apps', name: 'plan-std'}, {slot: 'staging'})
      await attach(az.context(), {...ATTACH, slot: 'staging'})
      assert.ok(az.site('apps', 'web-1', 'staging')!.relays.size === 1)
      assert.ok(az.site('apps', 'web-1')!.relays.size === 0)
    })

    it('creates a missing Send rule unless told not to', async () => {
      const az = world().addHc('relay', 'contoso-relay', 'norules', {rules: []})
      await rejects(attach(az.context(), {...ATTACH, hybridConnection: 'norules', createRule: false}), 4, /rule defaultSender does not exist/)
      await attach(az.context(), {...ATTACH, hybridConnection: 'norules'})
      assert.deepEqual(az.rule('relay', 'contoso-relay', 'norules', 'defaultSender')!.rights, ['Send'])
    })

    it('reads the product docs JSON (--from-file)', () => {
      const f = parseAttachFile(
        JSON.stringify({
          name: 'onprem-sql',
          type: 'Microsoft.Web/sites/hybridConnectionNamespaces/relays',
          location: 'West Europe',
          properties: {serviceBusNamespace: 'contoso-relay', relayName: 'onprem-sql', relayArmUri: '/subscriptions/s/resourceGroups/relay/providers/Microsoft.Relay/namespaces/contoso-relay/hybridConnections/onprem-sql', hostName: 'db01.corp', port: 1433, sendKeyName: 'defaultSender', sendKeyValue: 'x'},
        }),
        'f.json',
      )
      assert.deepEqual(f, {relaySubscriptionId: 's', namespace: 'contoso-relay', hybridConnection: 'onprem-sql', relayResourceGroup: 'relay', keyName: 'defaultSender', endpoint: {host: 'db01.corp', port: 1433}})
      assert.throws(() => parseAttachFile('{', 'f.json'), (e: {exitCode: number}) => e.exitCode === 2)
    })

    it('reads the file\'s property names in any case, as Azure does', () => {
      const f = parseAttachFile(JSON.stringify({Name: 'onprem-sql', Properties: {ServiceBusNamespace: 'contoso-relay', HOSTNAME: 'db01.corp', Port: '1433', SendKeyName: 'defaultSender'}}), 'f.json')
      assert.deepEqual({...f}, {namespace: 'contoso-relay', hybridConnection: 'onprem-sql', relayResourceGroup: undefined, keyName: 'defaultSender', endpoint: {host: 'db01.corp', port: 1433}})
      assert.deepEqual(parseAttachFile(JSON.stringify({properties: {hostname: 'db01.corp', port: 1}}), 'f.json').endpoint, {host: 'db01.corp', port: 1})
    })

    it('refuses a relay in another subscription (relayArmUri) before any call, naming both', async () => {
      const az = world()
      const other = '11111111-1111-1111-1111-111111111111'
      const f = parseAttachFile(JSON.stringify({properties: {relayArmUri: `/subscriptions/${other}/resourceGroups/relay/providers/Microsoft.Relay/namespaces/contoso-relay/hybridConnections/onprem-sql`}}), 'f.json')
      assert.equal(f.relaySubscriptionId, other)
      await rejects(attach(az.context(), {...ATTACH, relaySubscriptionId: f.relaySubscriptionId}), 2, new RegExp(`subscription ${other}.*not in ${SUB}`))
      assert.equal(az.calls.length, 0)
      await attach(az.context(), {...ATTACH, relaySubscriptionId: SUB.toUpperCase()})
    })
  })

  describe('list, show, plan limits', () => {
    function seeded() {
      const az = world()
      const key = az.rule('relay', 'contoso-relay', 'onprem-sql', 'defaultSender')!.primaryKey
      az.seedAttach('apps', 'web-1', {rg: 'relay', ns: 'contoso-relay', hc: 'onprem-sql'}, key)
      az.seedAttach('apps', 'web-2', {rg: 'relay', ns: 'contoso-relay', hc: 'onprem-sql'}, key, {host: 'old-db', port: 1})
      return az
    }

    it('lists the subscription with plans + namespaces requests, not per app', async () => {
      const az = seeded()
      az.hc('relay', 'contoso-relay', 'onprem-sql')!.listenerCount = 2
      const r = await list(az.context(), {})
      assert.equal(r.rows.length, 2)
      assert.deepEqual(r.rows[0], {app: 'web-1', appResourceGroup: 'apps', plan: 'plan-std', namespace: 'contoso-relay', hybridConnection: 'onprem-sql', relayResourceGroup: 'relay', endpoint: 'db01.corp:1433', status: 'Connected', listenerCount: 2, sendKeyName: 'defaultSender'})
      assert.equal(az.calls.length, 5) // plans, plan relays, plan relay sites, namespaces, namespace list
    })

    it('lists every hybrid connection of the subscription, unattached ones with no app', async () => {
      const az = seeded().addHc('relay', 'contoso-relay', 'spare').addNamespace('other-rg', 'lonely-ns').addHc('other-rg', 'lonely-ns', 'demo-hc', {metadata: JSON.stringify([{key: 'endpoint', value: 'db09:5432'}])})
      const r = await list(az.context(), {})
      assert.deepEqual(r.rows.map((x) => `${x.namespace}/${x.hybridConnection}:${x.app ?? '-'}`).sort(), ['contoso-relay/onprem-sql:web-1', 'contoso-relay/onprem-sql:web-2', 'contoso-relay/spare:-', 'lonely-ns/demo-hc:-'])
      assert.deepEqual(r.rows.find((x) => x.hybridConnection === 'demo-hc'), {namespace: 'lonely-ns', hybridConnection: 'demo-hc', relayResourceGroup: 'other-rg', endpoint: 'db09:5432', status: 'Not connected', listenerCount: 0})
      // plans + each plan's relays + each (plan, relay) pair's sites + namespaces + each namespace's list
      assert.equal(az.calls.length, 1 + 1 + 1 + 1 + 2, az.calls.join('\n'))
    })

    it('lists one app, one plan and one namespace (with unattached connections)', async () => {
      const az = seeded().addHc('relay', 'contoso-relay', 'spare')
      assert.equal((await list(az.context(), {app: 'web-1', resourceGroup: 'apps'})).rows.length, 1)
      assert.equal((await list(az.context(), {plan: 'plan-std', resourceGroup: 'apps'})).rows.length, 2)
      const ns = await list(az.context(), {namespace: 'contoso-relay', resourceGroup: 'relay'})
      assert.deepEqual(ns.rows.map((r) => `${r.hybridConnection}:${r.app ?? '-'}`).sort(), ['onprem-sql:web-1', 'onprem-sql:web-2', 'spare:-'])
      await rejects(list(az.context(), {app: 'web-1', plan: 'p', resourceGroup: 'apps'}), 2, /one scope/)
    })

    it('shows the relay, its apps per plan and the drift; secrets only when asked', async () => {
      const az = seeded()
      const r = await show(az.context(), {...HC, resourceGroup: 'relay'})
      assert.equal(r.relay.endpoint, 'db01.corp:1433')
      assert.deepEqual(r.drift, [{app: 'web-2', appEndpoint: 'old-db:1', relayEndpoint: 'db01.corp:1433'}])
      assert.equal(r.gatewayConnectionString, undefined)
      assert.ok(!JSON.stringify(r).includes(az.rule('relay', 'contoso-relay', 'onprem-sql', 'defaultListener')!.primaryKey))
      const s = await show(az.context(), {...HC, resourceGroup: 'relay', showSecrets: true})
      assert.match(s.gatewayConnectionString!, /^Endpoint=sb:\/\/contoso-relay\.servicebus\.windows\.net\/;SharedAccessKeyName=defaultListener;SharedAccessKey=.+;EntityPath=onprem-sql$/)
    })

    it('reports plan limits with the apps per connection', async () => {
      const r = await planLimits(seeded().context(), {plan: 'plan-std', resourceGroup: 'apps'})
      assert.deepEqual({...r, hybridConnections: r.hybridConnections.map((h) => h.apps.map((a) => a.app))}, {
        plan: 'plan-std', resourceGroup: 'apps', tier: 'Standard', eligible: true, scope: 'plan', current: 1, maximum: 25, hybridConnections: [['web-1', 'web-2']],
      })
    })

    it('prints the listener connection string; a Reader gets exit 5', async () => {
      const az = world()
      const r = await connectionString(az.context(), {...HC, resourceGroup: 'relay'})
      assert.ok(r.connectionString.includes(az.rule('relay', 'contoso-relay', 'onprem-sql', 'defaultListener')!.primaryKey))
      az.reader = true
      await rejects(connectionString(az.context(), {...HC, resourceGroup: 'relay'}), 5, /listKeys/)
    })
  })

  describe('disconnect', () => {
    it('removes the app resource; absent is "nothing to do"', async () => {
      const az = world()
      az.seedAttach('apps', 'web-1', {rg: 'relay', ns: 'contoso-relay', hc: 'onprem-sql'}, 'k')
      const r = await disconnect(az.context(), {...ATTACH})
      assert.equal(r.nothingToDo, false)
      assert.equal(az.site('apps', 'web-1')!.relays.size, 0)
      const again = await disconnect(az.context(), {...ATTACH})
      assert.equal(again.nothingToDo, true)
      assert.equal(again.changed, false)
    })

    it('--delete-relay refuses while another app uses it (exit 6 listing them), else deletes after confirmation', async () => {
      const az = world()
      az.seedAttach('apps', 'web-1', {rg: 'relay', ns: 'contoso-relay', hc: 'onprem-sql'}, 'k')
      az.seedAttach('apps', 'web-2', {rg: 'relay', ns: 'contoso-relay', hc: 'onprem-sql'}, 'k')
      await rejects(disconnect(az.context(), {...ATTACH, deleteRelay: true}), 6, /web-2 \(plan plan-std\)/)
      assert.equal(az.site('apps', 'web-1')!.relays.size, 1)
      await disconnect(az.context(), {...ATTACH, app: 'web-2'})
      await rejects(disconnect(az.context(), {...ATTACH, deleteRelay: true, confirm: async () => false}), 2, /not confirmed/)
      const r = await disconnect(az.context(), {...ATTACH, deleteRelay: true, confirm: async () => true})
      assert.equal(r.relayDeleted, true)
      assert.equal(az.hc('relay', 'contoso-relay', 'onprem-sql'), undefined)
    })
  })

  describe('keys rotate', () => {
    function rotating() {
      const az = world().addApp('apps', 'web-1', {rg: 'apps', name: 'plan-std'}, {slot: 'staging'}).addPlan('apps', 'prem', 'PremiumV3').addApp('apps', 'web-3', {rg: 'apps', name: 'prem'})
      const rule = az.rule('relay', 'contoso-relay', 'onprem-sql', 'defaultSender')!
      for (const [app, slot] of [['web-1'], ['web-1', 'staging'], ['web-3']] as Array<[string, string?]>) az.seedAttach('apps', app, {rg: 'relay', ns: 'contoso-relay', hc: 'onprem-sql'}, rule.primaryKey, slot ? {slot} : {})
      return {az, rule}
    }

    it('rotates in the safe order, every app and slot in every plan ends on the new primary', async () => {
      const {az, rule} = rotating()
      const old = {...rule}
      az.calls.length = 0
      const r = await rotateKeys(az.context(), {...HC, resourceGroup: 'relay'})
      assert.notEqual(rule.primaryKey, old.primaryKey)
      assert.notEqual(rule.secondaryKey, old.secondaryKey)
      for (const [app, slot] of [['web-1'], ['web-1', 'staging'], ['web-3']] as Array<[string, string?]>) {
        assert.equal(az.site('apps', app, slot)!.relays.get('contoso-relay/onprem-sql')!.props.sendKeyValue, rule.primaryKey, `${app} ${slot ?? ''}`)
      }
      const order = az.writes().map((c) => (c.includes('regenerateKeys') ? 'regen' : 'app'))
      assert.deepEqual(order, ['app', 'app', 'app', 'regen', 'app', 'app', 'app', 'regen'])
      assert.deepEqual(r.apps.map((a) => [a.app, a.slot ?? '', a.verified]).sort(), [['web-1', '', true], ['web-1', 'staging', true], ['web-3', '', true]])
      assert.ok(!JSON.stringify(r).includes(rule.primaryKey))
    })

    it('stops at the first failure with the state and how to resume', async () => {
      const {az, rule} = rotating()
      const old = {...rule}
      az.failOn = {pattern: /regenerateKeys/, status: 500}
      await assert.rejects(rotateKeys(az.context(), {...HC, resourceGroup: 'relay'}), (e: Error & {suggestions: string[]}) => {
        assert.match(e.message, /step 2 of 5 \(regenerate the primary key\)/)
        assert.match(e.message, /apps on the secondary key: .*web-1/)
        assert.match(e.suggestions[0]!, /re-run `hcctl keys rotate onprem-sql --namespace contoso-relay --resource-group relay --key-name defaultSender`/)
        assert.ok(!e.message.includes(old.secondaryKey))
        return true
      })
      assert.equal(rule.primaryKey, old.primaryKey)
      az.failOn = undefined
      await rotateKeys(az.context(), {...HC, resourceGroup: 'relay'})
      assert.notEqual(rule.primaryKey, old.primaryKey)
    })

    it('--dry-run plans the calls and writes nothing', async () => {
      const {az} = rotating()
      const before = az.snapshot()
      const r = await rotateKeys(az.context({dryRun: true}), {...HC, resourceGroup: 'relay'})
      assert.equal(az.snapshot(), before)
      assert.equal(r.plannedCalls!.length, 8)
      assert.ok(r.plannedCalls!.every((c) => !JSON.stringify(c).includes(az.rule('relay', 'contoso-relay', 'onprem-sql', 'defaultSender')!.secondaryKey)))
    })
  })

  describe('endpoint set', () => {
    it('changes the relay and every app in one verified step, then is idempotent', async () => {
      const az = world()
      const key = az.rule('relay', 'contoso-relay', 'onprem-sql', 'defaultSender')!.primaryKey
      az.seedAttach('apps', 'web-1', {rg: 'relay', ns: 'contoso-relay', hc: 'onprem-sql'}, key)
      az.seedAttach('apps', 'web-2', {rg: 'relay', ns: 'contoso-relay', hc: 'onprem-sql'}, key)
      const r = await setEndpoint(az.context(), {...HC, resourceGroup: 'relay', endpoint: 'db02.corp:1444'})
      assert.equal(r.previous, 'db01.corp:1433')
      assert.equal(az.hc('relay', 'contoso-relay', 'onprem-sql')!.userMetadata, '[{"key":"endpoint","value":"db02.corp:1444"}]')
      for (const app of ['web-1', 'web-2']) {
        const p = az.site('apps', app)!.relays.get('contoso-relay/onprem-sql')!.props
        assert.deepEqual([p.hostname, p.port, p.sendKeyValue], ['db02.corp', 1444, key])
      }
      const again = await setEndpoint(az.context(), {...HC, resourceGroup: 'relay', endpoint: 'db02.corp:1444'})
      assert.equal(again.changed, false)
    })
  })
})
