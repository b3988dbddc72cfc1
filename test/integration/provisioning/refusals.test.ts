import {strict as assert} from 'node:assert'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type Emulator, type SeedFile, startEmulator} from '../../../src/emulator/index.js'
import {type CliResult, runCli} from '../../helpers/cli.js'

/**
 * Every check that can refuse runs before the first write, in every provisioning command: after
 * each refusal the emulator's state is exactly what it was (no orphan connection, rule or
 * attachment).
 */
const SEED: SeedFile = {
  resourceGroups: [{name: 'apps'}, {name: 'relay'}, {name: 'basic'}],
  plans: [
    {resourceGroup: 'apps', name: 'plan-std', sku: 'S1'},
    {resourceGroup: 'basic', name: 'plan-basic', sku: 'B1'},
  ],
  sites: [
    {resourceGroup: 'apps', name: 'web-1', plan: 'plan-std'},
    {resourceGroup: 'apps', name: 'web-2', plan: 'plan-std'},
    ...[1, 2, 3, 4, 5, 6].map((i) => ({resourceGroup: 'basic', name: `b${i}`, plan: 'plan-basic'})),
  ],
  namespaces: [
    {
      resourceGroup: 'relay',
      name: 'contoso-relay',
      hybridConnections: [
        {name: 'shared', endpoint: 'db01.corp:1433', defaultRules: true},
        {name: 'spare', endpoint: 'db02.corp:1433', defaultRules: true},
        // No defaultListener, and a defaultSender that cannot send.
        {name: 'wrong-rule', endpoint: 'db03.corp:1433', rules: [{name: 'defaultSender', rights: ['Listen']}]},
        ...[1, 2, 3, 4, 5].map((i) => ({name: `hc${i}`, endpoint: `db${i}.corp:1433`, defaultRules: true})),
      ],
    },
  ],
  attachments: [
    ...[1, 2, 3, 4, 5].map((i) => ({resourceGroup: 'basic', site: `b${i}`, namespace: 'contoso-relay', hybridConnection: `hc${i}`})),
    {resourceGroup: 'apps', site: 'web-1', namespace: 'contoso-relay', hybridConnection: 'shared'},
    {resourceGroup: 'apps', site: 'web-2', namespace: 'contoso-relay', hybridConnection: 'shared'},
  ],
}

describe('provisioning refusals leave Azure as it was (real processes against the emulator)', function () {
  this.timeout(60_000)
  let emulator: Emulator
  let env: NodeJS.ProcessEnv
  let readerEnv: NodeJS.ProcessEnv

  before(async () => {
    emulator = await startEmulator({inMemory: true, seed: SEED})
    env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir}
    const {token} = emulator.tokens.issue({principal: emulator.state.data.principals.reader, audience: emulator.profile.armAudience})
    readerEnv = {...env, HCCTL_ACCESS_TOKEN: token, AZURE_SUBSCRIPTION_ID: emulator.subscriptionId}
  })
  after(async () => emulator?.stop())

  const relay = ['--namespace', 'contoso-relay']

  async function refuses(args: string[], exitCode: number, message: RegExp, options: {reader?: boolean} = {}): Promise<CliResult> {
    const before = JSON.stringify(emulator.state.data)
    const r = await runCli([...args, '--json'], {env: options.reader ? readerEnv : env})
    assert.equal(r.code, exitCode, `${r.stdout}\n${r.stderr}`)
    assert.match(r.json<{error: {message: string}}>().error.message, message)
    assert.equal(JSON.stringify(emulator.state.data), before, `${args.join(' ')} changed the emulator's state before refusing`)
    return r
  }

  it('create --app on a Basic plan at its limit creates no connection and no rule (exit 6)', async () => {
    await refuses(['create', 'orphan-hc', ...relay, '-g', 'relay', '--endpoint', 'files.corp:445', '--app', 'b6', '--app-resource-group', 'basic'], 6, /already uses 5 of 5/)
    assert.ok(!emulator.state.data.namespaces[0]!.hybridConnections.some((h) => h.name === 'orphan-hc'))
  })

  it('create on a connection whose Send rule lacks Send writes no defaultListener first (exit 6)', async () => {
    await refuses(['create', 'wrong-rule', ...relay, '-g', 'relay', '--endpoint', 'db03.corp:1433'], 6, /defaultSender .* needs Send/)
  })

  it('attach refuses a full plan, a missing rule with --no-create-rule, and a Reader, writing nothing', async () => {
    await refuses(['attach', 'spare', ...relay, '--app', 'b6', '-g', 'basic', '--relay-resource-group', 'relay'], 6, /already uses 5 of 5/)
    await refuses(['attach', 'spare', ...relay, '--app', 'web-1', '-g', 'apps', '--relay-resource-group', 'relay', '--key-name', 'appSender', '--no-create-rule'], 4, /rule appSender does not exist/)
    await refuses(['attach', 'spare', ...relay, '--app', 'web-1', '-g', 'apps', '--relay-resource-group', 'relay'], 5, /listKeys/, {reader: true})
  })

  it('attach --from-file refuses a relay in another subscription (relayArmUri) instead of swapping it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcctl-attach-'))
    const file = join(dir, 'hctest.json')
    const other = '11111111-2222-3333-4444-555555555555'
    // The product docs' example, property names as the docs spell them (hostName).
    writeFileSync(file, JSON.stringify({name: 'spare', type: 'Microsoft.Web/sites/hybridConnectionNamespaces/relays', location: 'West Europe', properties: {serviceBusNamespace: 'contoso-relay', relayName: 'spare', relayArmUri: `/subscriptions/${other}/resourceGroups/relay/providers/Microsoft.Relay/namespaces/contoso-relay/hybridConnections/spare`, hostName: 'db02.corp', port: 1433, sendKeyName: 'defaultSender', sendKeyValue: ''}}))
    try {
      await refuses(['attach', '--from-file', file, '--app', 'web-1', '-g', 'apps'], 2, new RegExp(`subscription ${other}`))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('endpoint set refuses --strict localhost and a Reader, writing nothing', async () => {
    await refuses(['endpoint', 'set', 'shared', ...relay, '-g', 'relay', '--endpoint', 'localhost:1433', '--strict'], 2, /--strict/)
    await refuses(['endpoint', 'set', 'shared', ...relay, '-g', 'relay', '--endpoint', 'db09.corp:1433'], 5, /listKeys|keys/, {reader: true})
  })

  it('keys rotate refuses a missing rule and a Reader, writing nothing', async () => {
    await refuses(['keys', 'rotate', 'shared', ...relay, '-g', 'relay', '--key-name', 'nope'], 4, /rule nope does not exist/)
    await refuses(['keys', 'rotate', 'shared', ...relay, '-g', 'relay'], 5, /keys/, {reader: true})
  })

  it('dry runs of create and endpoint set show the planned metadata exactly, and no key', async () => {
    for (const [args, metadata] of [
      [['create', 'planned-hc', ...relay, '-g', 'relay', '--endpoint', 'files.corp:445', '--app', 'web-1', '--app-resource-group', 'apps'], '[{"key":"endpoint","value":"files.corp:445"}]'],
      [['endpoint', 'set', 'shared', ...relay, '-g', 'relay', '--endpoint', 'db09.corp:1433'], '[{"key":"endpoint","value":"db09.corp:1433"}]'],
    ] as const) {
      const before = JSON.stringify(emulator.state.data)
      const json = await runCli([...args, '--dry-run', '--json'], {env})
      assert.equal(json.code, 0, json.stderr)
      const calls = json.json<{plannedCalls: Array<{method: string; body?: {properties?: {userMetadata?: string; sendKeyValue?: string}}}>}>().plannedCalls
      assert.ok(calls.some((c) => c.body?.properties?.userMetadata === metadata), JSON.stringify(calls))
      const human = await runCli([...args, '--dry-run'], {env})
      assert.equal(human.code, 0, human.stderr)
      assert.ok(human.stdout.includes(metadata.replace(/"/g, '\\"')) || human.stdout.includes(metadata), human.stdout)
      const keys = emulator.state.data.namespaces.flatMap((n) => n.hybridConnections.flatMap((h) => h.rules.flatMap((r) => [r.primaryKey, r.secondaryKey])))
      for (const out of [json.stdout, json.stderr, human.stdout, human.stderr]) for (const k of keys) assert.ok(!out.includes(k), 'no key in the output')
      assert.equal(JSON.stringify(emulator.state.data), before)
    }
  })

  it('disconnect --delete-relay refuses while other apps use it, and detaches nobody first (exit 6)', async () => {
    await refuses(['disconnect', 'shared', ...relay, '--app', 'web-1', '-g', 'apps', '--relay-resource-group', 'relay', '--delete-relay', '--yes'], 6, /web-2/)
  })
})
