import {strict as assert} from 'node:assert'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {runCli} from '../../helpers/cli.js'
import {echoTransfer, type HcctlProcess, startEcho, startHcctl} from './helpers.js'

/**
 * A running agent follows `hcctl endpoint set`: it reads the endpoint metadata again at its
 * --endpoint-refresh interval (and on every reconnect), so new connections reach the new
 * endpoint without a restart.
 */
describe('e2e: a running agent follows endpoint set', function () {
  this.timeout(90_000)
  let em: Emulator
  let first: Awaited<ReturnType<typeof startEcho>>
  const procs: HcctlProcess[] = []
  before(async () => {
    first = await startEcho()
    em = await startEmulator({
      inMemory: true,
      seed: {
        resourceGroups: [{name: 'rg'}],
        plans: [{resourceGroup: 'rg', name: 'plan', sku: 'S1'}],
        sites: [{resourceGroup: 'rg', name: 'app', plan: 'plan'}],
        namespaces: [{resourceGroup: 'rg', name: 'move-relay', hybridConnections: [{name: 'db', endpoint: `127.0.0.1:${first.port}`, defaultRules: true}]}],
        attachments: [{resourceGroup: 'rg', site: 'app', namespace: 'move-relay', hybridConnection: 'db', sendKeyName: 'defaultSender'}],
      },
    })
  })
  after(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    await em?.stop()
    first?.close()
  })

  it('new connections reach the second TCP server once the agent has read the new endpoint', async () => {
    const second = await startEcho()
    const agent = startHcctl(['agent', 'db', '--namespace', 'move-relay', '--resource-group', 'rg', '--cloud', em.profilePath, '--endpoint-refresh', '1'])
    procs.push(agent)
    await agent.waitFor(new RegExp(` listening hc=move-relay/db endpoint=127\\.0\\.0\\.1:${first.port} `), 30_000)
    const fwd = startHcctl(['forward', '--app', 'app', '--resource-group', 'rg', '--hc', 'db', '--cloud', em.profilePath, '--local', '127.0.0.1:0'])
    procs.push(fwd)
    const local = Number(/^Forwarding [\d.]+:(\d+) /.exec(await fwd.waitFor(/^Forwarding /, 30_000))![1])

    const before = await echoTransfer(local, 64 * 1024)
    assert.equal(before.receivedSha, before.sentSha)
    assert.deepEqual([first.connections, second.connections], [1, 0])

    const set = await runCli(['endpoint', 'set', 'db', '--namespace', 'move-relay', '-g', 'rg', '--endpoint', `127.0.0.1:${second.port}`, '--cloud', em.profilePath])
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stdout, /Running hcctl agents dial the new endpoint within their --endpoint-refresh interval \(default 60 s\)/)
    await agent.waitFor(new RegExp(` endpoint hc=move-relay/db from=127\\.0\\.0\\.1:${first.port} to=127\\.0\\.0\\.1:${second.port}`), 20_000)

    const after = await echoTransfer(local, 64 * 1024)
    assert.equal(after.receivedSha, after.sentSha)
    assert.deepEqual([first.connections, second.connections], [1, 1], 'the new connection reached the new endpoint')

    second.close()
  })

  it('a reconnect reads the endpoint again, long before a one-hour interval would', async () => {
    const agent = startHcctl(['agent', 'db', '--namespace', 'move-relay', '--resource-group', 'rg', '--cloud', em.profilePath, '--endpoint-refresh', '1h'])
    procs.push(agent)
    const listening = await agent.waitFor(/ listening hc=move-relay\/db endpoint=127\.0\.0\.1:\d+ /, 30_000)
    const from = /endpoint=(127\.0\.0\.1:\d+)/.exec(listening)![1]!
    const set = await runCli(['endpoint', 'set', 'db', '--namespace', 'move-relay', '-g', 'rg', '--endpoint', '127.0.0.1:7', '--cloud', em.profilePath])
    assert.equal(set.code, 0, set.stderr)
    em.setFaults('relay.dropListeners=all')
    await agent.waitFor(/ listening hc=move-relay\/db /, 20_000, 2)
    await agent.waitFor(new RegExp(` endpoint hc=move-relay/db from=${from.replace(/\./g, '\\.')} to=127\\.0\\.0\\.1:7`), 20_000)
  })
})
