import {strict as assert} from 'node:assert'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {type Emulator, type SeedFile, startEmulator} from '../../../src/emulator/index.js'
import {type CliResult, runCli} from '../../helpers/cli.js'

/**
 * Provisioning commands as real processes (`bin/run.js`) against an in-process emulator:
 * happy paths and JSON shapes, idempotent re-runs, every precondition with its exit code,
 * dry runs that write nothing, and no key in any output unless asked.
 */
const SEED: SeedFile = {
  resourceGroups: [{name: 'apps'}, {name: 'relay'}, {name: 'basic'}],
  plans: [
    {resourceGroup: 'apps', name: 'plan-std', sku: 'S1'},
    {resourceGroup: 'apps', name: 'plan-free', sku: 'F1'},
    {resourceGroup: 'basic', name: 'plan-basic', sku: 'B1'},
  ],
  sites: [
    {resourceGroup: 'apps', name: 'web-1', plan: 'plan-std', slots: ['staging']},
    {resourceGroup: 'apps', name: 'web-2', plan: 'plan-std'},
    {resourceGroup: 'apps', name: 'web-3', plan: 'plan-std'},
    {resourceGroup: 'apps', name: 'cheap', plan: 'plan-free'},
    ...[1, 2, 3, 4, 5, 6].map((i) => ({resourceGroup: 'basic', name: `b${i}`, plan: 'plan-basic'})),
  ],
  namespaces: [
    {
      resourceGroup: 'relay',
      name: 'contoso-relay',
      hybridConnections: [
        {name: 'onprem-sql', endpoint: 'db01.corp:1433', defaultRules: true},
        {name: 'no-meta', defaultRules: true},
        {name: 'bad-meta', userMetadata: 'db01:1433', defaultRules: true},
        {name: 'ip-meta', endpoint: '10.0.0.5:1433', defaultRules: true},
        {name: 'open', endpoint: 'db01.corp:1433', requiresClientAuthorization: false, defaultRules: true},
        ...[1, 2, 3, 4, 5].map((i) => ({name: `hc${i}`, endpoint: `db${i}.corp:1433`, defaultRules: true})),
      ],
    },
  ],
  attachments: [1, 2, 3, 4, 5].map((i) => ({resourceGroup: 'basic', site: `b${i}`, namespace: 'contoso-relay', hybridConnection: `hc${i}`})),
}

describe('provisioning commands (real processes against the emulator)', function () {
  this.timeout(60_000)
  let emulator: Emulator
  let env: NodeJS.ProcessEnv
  let readerEnv: NodeJS.ProcessEnv
  /** Every stdout and stderr that must not hold a key. */
  const outputs: string[] = []

  before(async () => {
    emulator = await startEmulator({inMemory: true, seed: SEED})
    env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir}
    const reader = emulator.state.data.principals.reader
    const {token} = emulator.tokens.issue({principal: reader, audience: emulator.profile.armAudience})
    readerEnv = {...env, HCCTL_ACCESS_TOKEN: token, AZURE_SUBSCRIPTION_ID: emulator.subscriptionId}
  })

  after(async () => {
    await emulator?.stop()
  })

  async function hc(args: string[], options: {reader?: boolean; secret?: boolean} = {}): Promise<CliResult> {
    const r = await runCli(args, {env: options.reader ? readerEnv : env})
    if (!options.secret) outputs.push(`${args.join(' ')}\n${r.stdout}\n${r.stderr}`)
    return r
  }

  const json = async <T = Record<string, unknown>>(args: string[], options: {reader?: boolean} = {}) => {
    const r = await hc([...args, '--json'], options)
    return {r, body: r.json<T>()}
  }

  function expectError(r: CliResult, exitCode: number, message: RegExp) {
    assert.equal(r.code, exitCode, `${r.stdout}\n${r.stderr}`)
    const e = r.json<{error: {message: string; suggestions: string[]; exitCode: number}}>().error
    assert.equal(e.exitCode, exitCode)
    assert.match(`${e.message} ${e.suggestions.join(' ')}`, message)
    assert.ok(!r.stderr.includes('    at '), 'no stack trace')
    return e
  }

  const stateJson = () => JSON.stringify(emulator.state.data)
  const relay = ['--namespace', 'contoso-relay']

  describe('create', () => {
    it('creates the hybrid connection, its rules and the attachment; a re-run changes nothing', async () => {
      const {r, body} = await json<{changed: boolean; hybridConnection: {endpoint: string}; rules: {listener: string; sender: string}; attach: {app: {name: string}; plan: {tier: string}}; steps: Array<{resource: string; status: string}>}>(
        ['create', 'new-hc', ...relay, '-g', 'relay', '--endpoint', 'files.corp:445', '--app', 'web-3', '--app-resource-group', 'apps'],
      )
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(body.changed, true)
      assert.equal(body.hybridConnection.endpoint, 'files.corp:445')
      assert.deepEqual(body.rules, {listener: 'defaultListener', sender: 'defaultSender'})
      assert.equal(body.attach.app.name, 'web-3')
      assert.deepEqual(body.steps.map((s) => `${s.resource}:${s.status}`), ['namespace:unchanged', 'hybrid connection:done', 'rule defaultListener:done', 'rule defaultSender:done', 'app web-3:done'])
      const ns = emulator.state.data.namespaces.find((n) => n.name === 'contoso-relay')!
      const made = ns.hybridConnections.find((h) => h.name === 'new-hc')!
      assert.equal(made.userMetadata, '[{"key":"endpoint","value":"files.corp:445"}]')
      assert.equal(made.requiresClientAuthorization, true)

      const again = await json<{changed: boolean; steps: Array<{status: string}>}>(['create', 'new-hc', ...relay, '-g', 'relay', '--endpoint', 'files.corp:445', '--app', 'web-3', '--app-resource-group', 'apps'])
      assert.equal(again.r.code, 0, again.r.stdout + again.r.stderr)
      assert.equal(again.body.changed, false)
      assert.ok(again.body.steps.every((s) => s.status === 'unchanged'))
      const people = await hc(['create', 'new-hc', ...relay, '-g', 'relay', '--endpoint', 'files.corp:445'])
      assert.match(people.stdout, /Nothing to change/)
    })

    it('another endpoint is a conflict (exit 6) naming both and pointing to endpoint set', async () => {
      const r = await hc(['create', 'onprem-sql', ...relay, '-g', 'relay', '--endpoint', 'db99.corp:1433', '--json'])
      expectError(r, 6, /db01\.corp:1433.*db99\.corp:1433.*hcctl endpoint set onprem-sql/s)
    })

    it('an IP endpoint warns on stderr, and is a usage error with --strict; names are checked before any call', async () => {
      const warn = await hc(['create', 'by-ip', ...relay, '-g', 'relay', '--endpoint', '10.1.2.3:80', '--dry-run'])
      assert.equal(warn.code, 0, warn.stderr)
      assert.match(warn.stderr, /Warning: .*IP address/)
      assert.match(warn.stdout, /Dry run: nothing was written/)
      expectError(await hc(['create', 'by-ip', ...relay, '-g', 'relay', '--endpoint', '10.1.2.3:80', '--strict', '--json']), 2, /IP address/)
      expectError(await hc(['create', 'a/b', ...relay, '-g', 'relay', '--endpoint', 'x:1', '--json']), 2, /App Service cannot address/)
      expectError(await hc(['create', 'x', '--namespace', '9badname', '-g', 'relay', '--endpoint', 'x:1', '--json']), 2, /start with a letter/)
      expectError(await hc(['create', 'x', ...relay, '-g', 'relay', '--endpoint', 'x:70000', '--json']), 2, /outside 1-65535/)
    })

    it('--create-namespace creates the namespace (a long-running operation) in the group\'s location', async () => {
      const {r, body} = await json<{namespace: {created: boolean}; steps: Array<{resource: string; status: string}>}>(['create', 'fresh', '--namespace', 'fresh-relay-ns', '-g', 'relay', '--endpoint', 'db.corp:1', '--create-namespace'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(body.namespace.created, true)
      assert.equal(body.steps[0]!.status, 'done')
      assert.ok(emulator.state.data.namespaces.some((n) => n.name === 'fresh-relay-ns' && n.hybridConnections.some((h) => h.name === 'fresh')))
    })

    it('--dry-run writes nothing, also for a new namespace', async () => {
      const before = stateJson()
      const {r, body} = await json<{dryRun: boolean; plannedCalls: Array<{method: string; path: string}>}>(
        ['create', 'dry-hc', '--namespace', 'dry-relay-ns', '-g', 'relay', '--endpoint', 'db.corp:1', '--create-namespace', '--app', 'web-2', '--app-resource-group', 'apps', '--dry-run'],
      )
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(body.dryRun, true)
      assert.equal(body.plannedCalls.length, 5)
      assert.equal(stateJson(), before)
    })
  })

  describe('attach', () => {
    it('attaches with every field, reads it back, and is idempotent', async () => {
      const {r, body} = await json<{changed: boolean; plan: {name: string; tier: string; maximum: number}; relay: {endpoint: string}; keyName: string}>(['attach', 'onprem-sql', ...relay, '--app', 'web-1', '-g', 'apps', '--relay-resource-group', 'relay'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(body.changed, true)
      assert.deepEqual([body.plan.name, body.plan.tier, body.plan.maximum, body.relay.endpoint, body.keyName], ['plan-std', 'Standard', 25, 'db01.corp:1433', 'defaultSender'])
      const site = emulator.state.data.sites.find((s) => s.name === 'web-1')!
      const attached = site.hybridConnections.find((h) => h.relayName === 'onprem-sql')!
      const ns = emulator.state.data.namespaces.find((n) => n.name === 'contoso-relay')!
      const rule = ns.hybridConnections.find((h) => h.name === 'onprem-sql')!.rules.find((x) => x.name === 'defaultSender')!
      assert.equal(attached.sendKeyValue, rule.primaryKey)
      assert.equal(attached.serviceBusSuffix, emulator.relaySuffix)
      assert.match(attached.relayArmUri, /\/resourceGroups\/relay\/providers\/Microsoft\.Relay\/namespaces\/contoso-relay\/hybridConnections\/onprem-sql$/)
      const again = await json<{changed: boolean}>(['attach', 'onprem-sql', ...relay, '--app', 'web-1', '-g', 'apps', '--relay-resource-group', 'relay'])
      assert.equal(again.body.changed, false)
    })

    it('attaches a slot, and takes the product docs JSON with --from-file', async () => {
      const {r} = await json(['attach', 'onprem-sql', ...relay, '--app', 'web-1', '--slot', 'staging', '-g', 'apps', '--relay-resource-group', 'relay'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      const file = join(emulator.stateDir, 'hc.json')
      writeFileSync(
        file,
        JSON.stringify({
          name: 'web-2/contoso-relay/onprem-sql',
          type: 'Microsoft.Web/sites/hybridConnectionNamespaces/relays',
          location: 'West Europe',
          properties: {
            serviceBusNamespace: 'contoso-relay',
            relayName: 'onprem-sql',
            relayArmUri: `/subscriptions/${emulator.subscriptionId}/resourceGroups/relay/providers/Microsoft.Relay/namespaces/contoso-relay/hybridConnections/onprem-sql`,
            hostName: 'db01.corp',
            port: 1433,
            sendKeyName: 'defaultSender',
            sendKeyValue: '',
          },
        }),
      )
      const fromFile = await json<{app: {name: string}}>(['attach', '--from-file', file, '--app', 'web-2', '-g', 'apps'])
      assert.equal(fromFile.r.code, 0, fromFile.r.stdout + fromFile.r.stderr)
      assert.equal(emulator.state.data.sites.find((s) => s.name === 'web-2')!.hybridConnections.length, 1)
    })

    const refusals: Array<[string, string[], number, RegExp, boolean?]> = [
      ['an ineligible tier (Free)', ['onprem-sql', '--app', 'cheap'], 6, /Free plans do not support/],
      ['the Basic limit with 5 other connections', ['onprem-sql', '--app', 'b6', '-g', 'basic'], 6, /5 of 5 hybrid connections.*plan limits/s],
      ['missing metadata', ['no-meta', '--app', 'web-2'], 6, /no userMetadata.*hcctl endpoint set no-meta/s],
      ['malformed metadata', ['bad-meta', '--app', 'web-2'], 6, /not JSON.*hcctl endpoint set bad-meta/s],
      ['an IP host in the metadata with --strict', ['ip-meta', '--app', 'web-2', '--strict'], 6, /IP address/],
      ['a connection without client authorization', ['open', '--app', 'web-2'], 6, /does not require client authorization/],
      ['an app that does not exist', ['onprem-sql', '--app', 'ghost'], 4, /app ghost was not found/],
      ['a slot that does not exist', ['onprem-sql', '--app', 'web-2', '--slot', 'nope'], 4, /no slot "nope"/],
      ['the Reader principal (listKeys)', ['onprem-sql', '--app', 'web-2'], 5, /authorizationRules\/listKeys\/action/, true],
    ]
    for (const [what, args, code, message, reader] of refusals) {
      it(`refuses ${what} (exit ${code}) before writing`, async () => {
        const before = stateJson()
        const rgArgs = args.includes('-g') ? [] : ['-g', 'apps']
        const r = await hc(['attach', ...args, ...relay, ...rgArgs, '--relay-resource-group', 'relay', '--json'], {reader})
        expectError(r, code, message)
        assert.equal(stateJson(), before)
      })
    }

    it('says the relay may be in another group (exit 4) without --relay-resource-group', async () => {
      expectError(await hc(['attach', 'onprem-sql', ...relay, '--app', 'web-2', '-g', 'apps', '--json']), 4, /--relay-resource-group/)
    })

    it('warns about an IP host in the metadata without --strict', async () => {
      const r = await hc(['attach', 'ip-meta', ...relay, '--app', 'web-2', '-g', 'apps', '--relay-resource-group', 'relay', '--dry-run'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.match(r.stderr, /Warning: .*IP address/)
    })
  })

  describe('reading', () => {
    it('list: subscription, app, plan and namespace scopes with status and key name', async () => {
      const all = await json<{scope: string; rows: Array<Record<string, unknown>>}>(['list'])
      assert.equal(all.r.code, 0, all.r.stdout + all.r.stderr)
      assert.equal(all.body.scope, 'subscription')
      const row = all.body.rows.find((x) => x.app === 'web-1' && !x.slot && x.hybridConnection === 'onprem-sql')
      assert.deepEqual(row, {app: 'web-1', appResourceGroup: 'apps', plan: 'plan-std', namespace: 'contoso-relay', hybridConnection: 'onprem-sql', relayResourceGroup: 'relay', endpoint: 'db01.corp:1433', status: 'Not connected', listenerCount: 0, sendKeyName: 'defaultSender'})
      assert.ok(all.body.rows.some((x) => x.app === 'web-1' && x.slot === 'staging'))
      assert.ok(all.body.rows.some((x) => x.app === 'b3' && x.hybridConnection === 'hc3'))
      const app = await json<{rows: unknown[]}>(['list', '--app', 'b1', '-g', 'basic'])
      assert.equal(app.body.rows.length, 1)
      const plan = await json<{rows: unknown[]}>(['list', '--plan', 'plan-basic', '-g', 'basic'])
      assert.equal(plan.body.rows.length, 5)
      const ns = await json<{rows: Array<{hybridConnection: string; app?: string}>}>(['list', '--namespace', 'contoso-relay', '-g', 'relay'])
      assert.ok(ns.body.rows.some((x) => x.hybridConnection === 'no-meta' && !x.app))
      const people = await hc(['list', '--plan', 'plan-basic', '-g', 'basic'])
      assert.match(people.stdout, /App\s+Namespace\s+Hybrid connection\s+Endpoint\s+Status\s+Send key/)
    })

    it('show: relay side, apps per plan; --show-secrets adds the gateway connection string', async () => {
      const {r, body} = await json<{relay: {endpoint: string; status: string}; rules: Array<{name: string}>; plans: Array<{plan: string; apps: Array<{app: string}>}>; gatewayConnectionString?: string}>(['show', 'onprem-sql', ...relay, '-g', 'relay'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(body.relay.endpoint, 'db01.corp:1433')
      assert.deepEqual(body.rules.map((x) => x.name).sort(), ['defaultListener', 'defaultSender'])
      assert.ok(body.plans.find((p) => p.plan === 'plan-std')!.apps.some((a) => a.app === 'web-1'))
      assert.equal(body.gatewayConnectionString, undefined)
      const secret = await hc(['show', 'onprem-sql', ...relay, '-g', 'relay', '--show-secrets', '--json'], {secret: true})
      assert.match(secret.json<{gatewayConnectionString: string}>().gatewayConnectionString, /SharedAccessKeyName=defaultListener;SharedAccessKey=[^;*]+;EntityPath=onprem-sql/)
    })

    it('connection-string prints only the string; a Reader gets exit 5', async () => {
      const r = await hc(['connection-string', 'onprem-sql', ...relay, '-g', 'relay'], {secret: true})
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.match(r.stdout, /^Endpoint=sb:\/\/contoso-relay\.[^;]+\/;SharedAccessKeyName=defaultListener;SharedAccessKey=[^;]+;EntityPath=onprem-sql\n$/)
      assert.equal(r.stderr, '')
      expectError(await hc(['connection-string', 'onprem-sql', ...relay, '-g', 'relay', '--json'], {reader: true}), 5, /listKeys/)
    })

    it('plan limits: tier, current, maximum and the apps per connection', async () => {
      const {body} = await json<{tier: string; current: number; maximum: number; hybridConnections: Array<{name: string; apps: Array<{app: string}>}>}>(['plan', 'limits', '--plan', 'plan-basic', '-g', 'basic'])
      assert.deepEqual([body.tier, body.current, body.maximum], ['Basic', 5, 5])
      assert.deepEqual(body.hybridConnections.map((h) => `${h.name}:${h.apps.map((a) => a.app).join(',')}`).sort(), ['hc1:b1', 'hc2:b2', 'hc3:b3', 'hc4:b4', 'hc5:b5'])
      const free = await json<{eligible: boolean; maximum: number}>(['plan', 'limits', '--app', 'cheap', '-g', 'apps'])
      assert.deepEqual([free.body.eligible, free.body.maximum], [false, 0])
    })
  })

  describe('changing', () => {
    it('endpoint set changes the relay and every app in one step; dry-run first writes nothing', async () => {
      const before = stateJson()
      const dry = await json<{plannedCalls: unknown[]}>(['endpoint', 'set', 'hc2', ...relay, '-g', 'relay', '--endpoint', 'db2-new.corp:1500', '--dry-run'])
      assert.equal(dry.r.code, 0, dry.r.stdout + dry.r.stderr)
      assert.equal(dry.body.plannedCalls.length, 2)
      assert.equal(stateJson(), before)
      const {r, body} = await json<{previous: string; endpoint: string; apps: Array<{app: string; previous: string}>}>(['endpoint', 'set', 'hc2', ...relay, '-g', 'relay', '--endpoint', 'db2-new.corp:1500'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.deepEqual([body.previous, body.endpoint, body.apps.map((a) => a.app)], ['db2.corp:1433', 'db2-new.corp:1500', ['b2']])
      const b2 = emulator.state.data.sites.find((s) => s.name === 'b2')!.hybridConnections[0]!
      assert.deepEqual([b2.hostname, b2.port], ['db2-new.corp', 1500])
      assert.ok(b2.sendKeyValue.length > 0, 'the app kept its key')
    })

    it('disconnect removes the attachment; again is "nothing to do"; --delete-relay refuses while used elsewhere', async () => {
      const r = await json<{nothingToDo: boolean}>(['disconnect', 'hc5', ...relay, '--app', 'b5', '-g', 'basic', '--relay-resource-group', 'relay'])
      assert.equal(r.r.code, 0, r.r.stdout + r.r.stderr)
      assert.equal(r.body.nothingToDo, false)
      const again = await json<{nothingToDo: boolean}>(['disconnect', 'hc5', ...relay, '--app', 'b5', '-g', 'basic', '--relay-resource-group', 'relay'])
      assert.equal(again.body.nothingToDo, true)
      expectError(await hc(['disconnect', 'onprem-sql', ...relay, '--app', 'web-1', '-g', 'apps', '--relay-resource-group', 'relay', '--delete-relay', '--yes', '--json']), 6, /other apps? uses? it: .*web-1\/staging/)
      expectError(await hc(['disconnect', 'hc5', ...relay, '--app', 'b5', '-g', 'basic', '--relay-resource-group', 'relay', '--delete-relay', '--json']), 2, /--yes/)
      const del = await json<{relayDeleted: boolean}>(['disconnect', 'hc5', ...relay, '--app', 'b5', '-g', 'basic', '--relay-resource-group', 'relay', '--delete-relay', '--yes'])
      assert.equal(del.body.relayDeleted, true)
    })
  })

  describe('secrets', () => {
    it('no key appears in any output except connection-string and --show-secrets', () => {
      const keys = emulator.state.data.namespaces.flatMap((n) => [...n.rules, ...n.hybridConnections.flatMap((h) => h.rules)]).flatMap((r) => [r.primaryKey, r.secondaryKey])
      assert.ok(keys.length > 20 && outputs.length > 20, `${keys.length} keys, ${outputs.length} outputs`)
      for (const out of outputs) for (const key of keys) assert.ok(!out.includes(key), `a key leaked in:\n${out.slice(0, 300)}`)
    })
  })
})
