import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {type AddressInfo, createServer, type Server} from 'node:net'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import type {RelayTestRun} from '../../../src/lib/diagnose/relay-test-setup.js'
import {Agent} from '../../../src/lib/relay/agent.js'
import {credentialsFromKey} from '../../../src/lib/relay/credentials.js'
import {transportFromCloud} from '../../../src/lib/relay/transport.js'
import {runCli} from '../../helpers/cli.js'
import {call, expectOk} from '../emulator/helpers.js'

describe('hcctl relay test (real process against the emulator)', function () {
  this.timeout(60_000)
  let emu: Emulator
  let echo: Server
  let agent: Agent
  let env: NodeJS.ProcessEnv
  const hcPath = () => `/subscriptions/${emu.subscriptionId}/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns/hybridConnections/perf`
  const base = ['--namespace', 'ns', '--resource-group', 'rg', '--cloud', 'emulator', '--count', '20', '--size', '512', '--bulk', '1048576']

  before(async () => {
    emu = await startEmulator({
      inMemory: true,
      seed: {
        resourceGroups: [{name: 'rg', location: 'westeurope'}],
        namespaces: [{resourceGroup: 'rg', name: 'ns', hybridConnections: [{name: 'perf', endpoint: 'echo.corp.hcctl.test:7', defaultRules: true}]}],
      },
    })
    env = {HCCTL_EMULATOR_STATE: emu.stateDir}
    echo = createServer((s) => s.pipe(s)).listen(0, '127.0.0.1')
    await once(echo, 'listening')
    const keys = await expectOk(call(emu, 'POST', `${hcPath()}/authorizationRules/defaultListener/listKeys`))
    agent = new Agent({
      hybridConnections: [{credentials: credentialsFromKey({host: `ns${emu.relaySuffix}`, entity: 'perf', keyName: 'defaultListener', key: keys.json.primaryKey}), endpoint: {host: '127.0.0.1', port: (echo.address() as AddressInfo).port}}],
      transport: transportFromCloud(emu.profile),
      drainTimeoutMs: 200,
    })
    await agent.start()
  })
  after(async () => {
    await Promise.race([agent.stop(), new Promise((r) => setTimeout(r, 1000).unref())])
    await emu.stop()
    echo.close()
  })

  it('with an agent also listening: warns, counts only its own connections, no loss, bulk intact (exit 0)', async () => {
    const r = await runCli(['relay', 'test', 'perf', ...base, '--connections', '12', '--json'], {env, timeoutMs: 50_000})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const body = r.json<RelayTestRun>()
    assert.match(r.stderr, /1 agent is already listening on perf/)
    assert.equal(body.connections.own + body.connections.foreign, body.connections.attempted)
    assert.ok(body.connections.own >= 1)
    assert.ok(body.connections.foreign >= 1, 'with two listeners, some of 12 connections reach the agent (chance of none: 1 in 4096)')
    assert.deepEqual([body.echo.received, body.echo.lost], [20, 0])
    assert.ok(body.echo.rttMs && body.echo.rttMs.p50Ms !== undefined && body.echo.rttMs.p99Ms !== undefined)
    assert.equal(body.bulk?.intact, true)
    assert.ok(body.bulk!.megabytesPerSecond > 0)
    assert.doesNotMatch(r.stdout + r.stderr, /SharedAccessKey=|sig=/)
  })

  it('--scratch: a temporary hybrid connection, created and deleted; the summary for people', async () => {
    const before = (await expectOk(call(emu, 'GET', `/subscriptions/${emu.subscriptionId}/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns/hybridConnections`))).json.value.length
    const r = await runCli(['relay', 'test', '--scratch', ...base], {env, timeoutMs: 50_000})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /^Relay test on ns\.servicebus\.localhost\/hcctl-test-[0-9a-f]{8} \(temporary hybrid connection hcctl-test-[0-9a-f]{8}, deleted\)$/m)
    assert.match(r.stdout, /connections +3 of 3 reached this test's listener$/m)
    assert.match(r.stdout, /round trip +min [\d.]+ ms, avg [\d.]+ ms, p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms/)
    assert.match(r.stdout, /bulk \(echoed\) +1\.00 MiB in [\d.]+ ms: [\d.]+ MiB\/s, intact \(SHA-256\)/)
    assert.doesNotMatch(r.stderr, /already listening/)
    const after = (await expectOk(call(emu, 'GET', `/subscriptions/${emu.subscriptionId}/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns/hybridConnections`))).json.value.length
    assert.equal(after, before, 'the temporary hybrid connection is gone')
  })

  it('two connection strings (Send first, Listen second): no ARM needed, the order is found', async () => {
    const send = (await expectOk(call(emu, 'POST', `${hcPath()}/authorizationRules/defaultSender/listKeys`))).json.primaryConnectionString
    const listen = (await expectOk(call(emu, 'POST', `${hcPath()}/authorizationRules/defaultListener/listKeys`))).json.primaryConnectionString
    const r = await runCli(['relay', 'test', '--connection-string', send, '--connection-string', listen, '--cloud', 'emulator', '--count', '5', '--bulk', '0', '--json'], {env, timeoutMs: 50_000})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const body = r.json<RelayTestRun>()
    assert.equal(body.echo.lost, 0)
    assert.equal(body.bulk, undefined)
  })

  it('nothing to test is a usage error', async () => {
    const r = await runCli(['relay', 'test', '--cloud', 'emulator'], {env})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /Say what to test/)
  })
})
