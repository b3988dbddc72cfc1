import {strict as assert} from 'node:assert'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type CliResult, runCli} from '../helpers/cli.js'
import {REC, recorded, type ReplayServer, startReplayServer} from './recording.js'

/**
 * Our client reads real answers: hcctl runs as a real process against Azure's recorded answers,
 * served as a custom cloud on loopback (a profile file with the replay server's CA), and what it
 * prints must be what Azure said. Our writes look like what Azure accepted: `attach`'s PUT body
 * has the property set Azure accepted from the Azure CLI.
 */

interface CheckJson {
  ok: boolean
  checks: Array<{id: string; status: string; evidence: string[]; target?: string}>
}

/** A loopback port nobody listens on: the cloud profile sends relay traffic there, so nothing leaves the machine. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('contract: hcctl reads the answers real Azure gave (recorded, served on loopback)', function () {
  this.timeout(90_000)
  let dir: string
  let replay: ReplayServer
  let strict: ReplayServer
  let relayPort: number

  const rg = ['--resource-group', REC.resourceGroup]

  function envFor(server: ReplayServer, name: string): NodeJS.ProcessEnv {
    writeFileSync(join(dir, `${name}-ca.pem`), server.ca)
    const profile = {
      name: `recorded-${name}`,
      armEndpoint: server.url,
      armAudience: 'https://management.azure.com',
      authorityHost: server.url,
      relaySuffix: '.servicebus.windows.net',
      caPath: `${name}-ca.pem`,
      relayAddress: {host: '127.0.0.1', port: relayPort},
    }
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(profile))
    return {HCCTL_CLOUD: join(dir, `${name}.json`), HCCTL_ACCESS_TOKEN: 'recorded-cloud-token', AZURE_SUBSCRIPTION_ID: REC.subscriptionId}
  }

  const hcctl = (server: ReplayServer, args: string[]): Promise<CliResult> => runCli(args, {env: envFor(server, server === strict ? 'strict' : 'replay')})

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hcctl-contract-'))
    relayPort = await closedPort()
    replay = await startReplayServer()
    strict = await startReplayServer({derive: false})
  })

  after(async () => {
    await replay?.stop()
    await strict?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('list --app shows the recorded attachment: namespace, connection, endpoint and send key name', async () => {
    const r = await hcctl(replay, ['list', '--app', REC.app, ...rg, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const rows = r.json<{rows: Array<Record<string, unknown>>}>().rows
    assert.equal(rows.length, 1, r.stdout)
    assert.deepEqual(
      {app: rows[0]!.app, namespace: rows[0]!.namespace, hybridConnection: rows[0]!.hybridConnection, endpoint: rows[0]!.endpoint, sendKeyName: rows[0]!.sendKeyName, relayResourceGroup: rows[0]!.relayResourceGroup},
      {app: REC.app, namespace: REC.namespace, hybridConnection: REC.hybridConnection, endpoint: 'vmsq1:80', sendKeyName: REC.sendKeyName, relayResourceGroup: REC.resourceGroup},
    )
    assert.ok(!r.stdout.includes('oI6ScDKiN1E3qRLXNRB2CUDMWDeBOwbOjCVn01RaKgI='), 'no key in the output')
  })

  it('list --slot shows the slot\'s own recorded attachment', async () => {
    const r = await hcctl(replay, ['list', '--app', REC.app, '--slot', REC.slot, ...rg, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const rows = r.json<{rows: Array<Record<string, unknown>>}>().rows
    assert.equal(rows.length, 1, r.stdout)
    assert.equal(rows[0]!.slot, REC.slot)
    assert.equal(rows[0]!.hybridConnection, REC.hybridConnection)
    assert.equal(rows[0]!.endpoint, 'vmsq1:80')
    assert.ok(replay.received.some((q) => q.path.toLowerCase().endsWith(`/slots/${REC.slot}/hybridconnectionrelays`)), 'it read the slot\'s list, not the app\'s')
  })

  it('show reads the relay, its rule and the apps (app and slot) that use it, as recorded', async () => {
    const r = await hcctl(replay, ['show', REC.hybridConnection, '--namespace', REC.namespace, ...rg, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const out = r.json<{relay: Record<string, unknown>; rules: Array<{name: string; rights: string[]}>; plans: Array<{plan: string; tier: string; apps: Array<Record<string, unknown>>}>}>()
    const recordedHc = recorded('GET', /hybridConnections\/hcname000005$/i, 1).body as {properties: {userMetadata: string; requiresClientAuthorization: boolean; listenerCount: number}}
    assert.equal(out.relay.endpoint, 'vmsq1:80')
    assert.equal(out.relay.userMetadata, recordedHc.properties.userMetadata)
    assert.equal(out.relay.requiresClientAuthorization, recordedHc.properties.requiresClientAuthorization)
    assert.equal(out.relay.listenerCount, recordedHc.properties.listenerCount)
    assert.deepEqual(out.rules.map((x) => [x.name, x.rights]), [[REC.sendKeyName, ['Send']]])
    assert.equal(out.plans.length, 1)
    assert.equal(out.plans[0]!.plan, REC.plan)
    assert.equal(out.plans[0]!.tier, 'Standard')
    assert.deepEqual(out.plans[0]!.apps.map((a) => [a.app, a.slot ?? null, a.endpoint, a.sendKeyName]).sort(), [
      [REC.app, null, 'vmsq1:80', REC.sendKeyName],
      [REC.app, REC.slot, 'vmsq1:80', REC.sendKeyName],
    ])
  })

  it('arm get prints exactly what Azure answered', async () => {
    const r = await hcctl(replay, ['arm', 'get', `/subscriptions/{subscriptionId}/resourceGroups/${REC.resourceGroup}/providers/Microsoft.Web/sites/${REC.app}/hybridConnectionRelays?api-version=2021-03-01`])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), recorded('GET', /sites\/hcwebapp000002\/hybridConnectionRelays$/i).body)
  })

  it('check (ARM side), with only the calls Azure answered: facts from the recording, and honest messages where a call was not answered', async () => {
    const r = await hcctl(strict, ['check', '--app', REC.app, ...rg, '--json', '--timeout', '3s'])
    assert.equal(r.code, 3, r.stderr)
    const out = r.json<CheckJson>()
    const by = (id: string) => out.checks.find((c) => c.id === id) ?? assert.fail(`no check ${id}: ${r.stdout}`)
    assert.equal(by('app.exists').status, 'pass')
    assert.equal(by('app.plan-eligible').status, 'pass')
    assert.match(by('app.plan-eligible').evidence[0]!, /hcplan000003: Standard \(S1\)/)
    // hybridConnectionRelays of the plan was never recorded (404): skipped with the reason, not the raw error.
    assert.equal(by('app.plan-limit').status, 'skip')
    assert.match(by('app.plan-limit').evidence.join('\n'), /could not be counted: the service answered 404/)
    assert.equal(by('app.hybrid-connections').status, 'pass')
    assert.match(by('config.web-resource').evidence[0]!, /vmsq1:80 via hcnamespace000004\.servicebus\.windows\.net, key defaultSender/)
    assert.equal(by('config.relay-exists').status, 'pass')
    assert.equal(by('config.client-authorization').status, 'pass')
    assert.deepEqual(by('config.metadata').evidence, ['endpoint vmsq1:80'])
    assert.equal(by('config.endpoint-match').status, 'pass')
    // The plan's listKeys was never recorded (404): the key could not be read, which is not "empty".
    assert.equal(by('keys.match').status, 'skip')
    assert.match(by('keys.match').evidence[0]!, /key for rule defaultSender could not be read: the plan's listKeys .* answered 404/)
    assert.doesNotMatch(r.stdout, /is empty/)
    assert.equal(by('listener.connected').status, 'fail', 'Azure reported listenerCount 0')
    assert.ok(!r.stdout.includes('oI6ScDKiN1E3qRLXNRB2CUDMWDeBOwbOjCVn01RaKgI='), 'no key in the output')
    assert.ok(strict.received.every((q) => q.method !== 'PUT' && q.method !== 'DELETE'), 'check never writes')
  })

  it("attach: the PUT body to sites/{app}/hybridConnectionNamespaces/{ns}/relays/{hc} has the property set Azure accepted from the Azure CLI", async () => {
    replay.received.length = 0
    const r = await hcctl(replay, ['attach', REC.hybridConnection, '--namespace', REC.namespace, '--app', REC.app, ...rg, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const puts = replay.received.filter((q) => q.method === 'PUT' && /\/sites\/hcwebapp000002\/hybridConnectionNamespaces\/hcnamespace000004\/relays\/hcname000005$/i.test(q.path))
    assert.equal(puts.length, 1, 'one PUT of the app\'s contract')
    const ours = puts[0]!.body as {properties: Record<string, unknown>} & Record<string, unknown>
    const azure = recorded('PUT', /sites\/hcwebapp000002\/hybridConnectionNamespaces\/hcnamespace000004\/relays\/hcname000005$/i).requestBody as {properties: Record<string, unknown>}
    assert.deepEqual(Object.keys(ours.properties).sort(), Object.keys(azure.properties).sort())
    for (const k of Object.keys(azure.properties)) assert.equal(typeof ours.properties[k], typeof azure.properties[k], `properties.${k} has Azure's type`)
    assert.deepEqual(
      {...ours.properties, sendKeyValue: '(key)'},
      {...azure.properties, sendKeyValue: '(key)'},
      'the same values as the Azure CLI wrote for the same connection (the key aside)',
    )
    // Known difference, kept on purpose: hcctl also sends the resource's name, type and location at the
    // top level, as the App Service docs' armclient example does; ARM ignores them on this PUT. The CLI
    // sends only `properties`. A new top-level property fails here until it is added with its reason.
    assert.deepEqual(Object.keys(ours).filter((k) => !(k in azure)).sort(), ['location', 'name', 'type'])
  })
})
