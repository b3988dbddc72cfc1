import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {type AddressInfo, createServer, type Server, type Socket} from 'node:net'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import type {TcpPingResult} from '../../../src/lib/diagnose/tcpping.js'
import {Agent} from '../../../src/lib/relay/agent.js'
import {credentialsFromKey} from '../../../src/lib/relay/credentials.js'
import {connectSender} from '../../../src/lib/relay/sender.js'
import {transportFromCloud} from '../../../src/lib/relay/transport.js'
import {runCli} from '../../helpers/cli.js'
import {call, expectOk} from '../emulator/helpers.js'

describe('hcctl tcpping --app (real process, through the emulator\'s Kudu command API)', function () {
  this.timeout(30_000)
  let emu: Emulator
  let tcp: Server
  let port: number
  let agent: Agent
  let env: NodeJS.ProcessEnv
  let accepted = 0
  const sockets = new Set<Socket>()

  before(async () => {
    emu = await startEmulator({
      inMemory: true,
      // App Service's side: the sandbox opens a sender through the relay with the app's key.
      relayDialer: async (o) => {
        const c = await connectSender({cloud: emu.profile, namespace: o.namespace, entity: o.name, keyName: o.keyName, key: o.key, timeoutMs: o.timeoutMs})
        return {close: () => c.ws.close()}
      },
      seed: {
        resourceGroups: [{name: 'rg', location: 'westeurope'}],
        plans: [{resourceGroup: 'rg', name: 'plan', sku: 'S1'}],
        sites: [{resourceGroup: 'rg', name: 'web', plan: 'plan'}],
        namespaces: [{resourceGroup: 'rg', name: 'ns', hybridConnections: [{name: 'sql', endpoint: 'sql01.corp.hcctl.test:1433', defaultRules: true}, {name: 'idle', endpoint: 'idle.corp.hcctl.test:5432', defaultRules: true}]}],
        attachments: [{resourceGroup: 'rg', site: 'web', namespace: 'ns', hybridConnection: 'sql'}, {resourceGroup: 'rg', site: 'web', namespace: 'ns', hybridConnection: 'idle'}],
      },
    })
    env = {HCCTL_EMULATOR_STATE: emu.stateDir}
    tcp = createServer((s) => {
      accepted++
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.end()
    }).listen(0, '127.0.0.1')
    await once(tcp, 'listening')
    port = (tcp.address() as AddressInfo).port
    const keys = await expectOk(call(emu, 'POST', `/subscriptions/${emu.subscriptionId}/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns/hybridConnections/sql/authorizationRules/defaultListener/listKeys`))
    agent = new Agent({
      hybridConnections: [{credentials: credentialsFromKey({host: `ns${emu.relaySuffix}`, entity: 'sql', keyName: 'defaultListener', key: keys.json.primaryKey}), endpoint: {host: '127.0.0.1', port}}],
      transport: transportFromCloud(emu.profile),
      drainTimeoutMs: 200,
    })
    await agent.start()
  })
  after(async () => {
    // Agent.stop() can wait on a tunnel whose sender is long gone (reported to relay-client);
    // stopping the emulator closes the relay side of every tunnel anyway.
    await Promise.race([agent.stop(), new Promise((r) => setTimeout(r, 1000).unref())])
    await emu.stop()
    for (const s of sockets) s.destroy()
    tcp.close()
  })

  it("host:port of one of the app's hybrid connections: through the relay and the agent, labelled as such", async () => {
    const before = accepted
    const r = await runCli(['tcpping', 'sql01.corp.hcctl.test:1433', '--app', 'web', '-g', 'rg', '-n', '2', '--cloud', 'emulator', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const body = r.json<TcpPingResult>()
    assert.deepEqual(body.from, {kind: 'app', app: 'web', hybridConnection: {namespace: 'ns', name: 'sql'}})
    assert.equal(body.dns.skipped, 'remote')
    assert.deepEqual([body.summary.sent, body.summary.connected], [2, 2])
    assert.equal(accepted - before, 2, 'each attempt reached the endpoint through the agent')
    const human = await runCli(['tcpping', 'sql01.corp.hcctl.test:1433', '--app', 'web', '-g', 'rg', '-n', '1', '--cloud', 'emulator'], {env})
    assert.match(human.stdout, /through hybrid connection ns\/sql/)
    assert.match(human.stdout, /Note: this went through the app's hybrid connection/)
  })

  it('another host:port: a plain connection from the app, not labelled; a closed port fails with exit 3', async () => {
    const r = await runCli(['tcpping', `127.0.0.1:${port}`, '--app', 'web', '-g', 'rg', '-n', '1', '--cloud', 'emulator', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json<TcpPingResult>().from, {kind: 'app', app: 'web'})
    const closed = await runCli(['tcpping', '127.0.0.1:1', '--app', 'web', '-g', 'rg', '-n', '1', '--cloud', 'emulator', '--json'], {env})
    assert.equal(closed.code, 3)
    assert.equal(closed.json<TcpPingResult>().attempts[0]!.error, 'refused')
  })

  it('a hybrid connection no agent listens on: each failed attempt prints the reason, not "error" alone', async () => {
    const json = await runCli(['tcpping', 'idle.corp.hcctl.test:5432', '--app', 'web', '-g', 'rg', '-n', '1', '--cloud', 'emulator', '--json'], {env})
    assert.equal(json.code, 3, json.stderr)
    const attempt = json.json<TcpPingResult>().attempts[0]!
    assert.equal(attempt.error, 'error')
    assert.ok(attempt.message, 'the reason is in --json')
    const human = await runCli(['tcpping', 'idle.corp.hcctl.test:5432', '--app', 'web', '-g', 'rg', '-n', '1', '--cloud', 'emulator'], {env})
    assert.equal(human.code, 3, human.stderr)
    const line = human.stdout.split('\n').find((l) => /^\s+1:/.test(l))
    assert.match(attempt.message!, /No listener is connected to hybrid connection "idle"/)
    assert.match(line ?? '', /^ {2}1: error \(No listener is connected to hybrid connection "idle" on ns\.servicebus\.localhost: .+\)$/)
  })

  it('an app that does not exist is exit 4', async () => {
    const r = await runCli(['tcpping', 'sql01.corp.hcctl.test:1433', '--app', 'nope', '-g', 'rg', '--cloud', 'emulator'], {env})
    assert.equal(r.code, 4, r.stderr)
  })
})
