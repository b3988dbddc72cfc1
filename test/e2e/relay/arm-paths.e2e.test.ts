import {strict as assert} from 'node:assert'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {echoTransfer, type HcctlProcess, startEcho, startHcctl} from './helpers.js'

/**
 * The ARM paths end to end: `hcctl agent HC --namespace NS -g RG` (defaultListener through ARM)
 * and `hcctl forward --app APP -g RG --hc HC` (the key the app holds, plan-level listKeys),
 * signed in as the emulator's principal from its profile.
 */
describe('e2e: agent and forward through ARM', function () {
  this.timeout(60_000)
  let em: Emulator
  const procs: HcctlProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    await em?.stop()
  })

  it('agent by name and forward by app carry bytes intact', async () => {
    const echo = await startEcho()
    em = await startEmulator({
      inMemory: true,
      seed: {
        resourceGroups: [{name: 'rg'}],
        plans: [{resourceGroup: 'rg', name: 'plan', sku: 'S1'}],
        sites: [{resourceGroup: 'rg', name: 'app', plan: 'plan'}],
        namespaces: [{resourceGroup: 'rg', name: 'arm-relay', hybridConnections: [{name: 'db', endpoint: `127.0.0.1:${echo.port}`, defaultRules: true}]}],
        attachments: [{resourceGroup: 'rg', site: 'app', namespace: 'arm-relay', hybridConnection: 'db', sendKeyName: 'defaultSender'}],
      },
    })
    const agent = startHcctl(['agent', 'db', '--namespace', 'arm-relay', '--resource-group', 'rg', '--cloud', em.profilePath])
    procs.push(agent)
    await agent.waitFor(/ listening hc=arm-relay\/db endpoint=127\.0\.0\.1:\d+ /, 30_000)
    const fwd = startHcctl(['forward', '--app', 'app', '--resource-group', 'rg', '--hc', 'db', '--cloud', em.profilePath, '--local', '127.0.0.1:0'])
    procs.push(fwd)
    const ready = await fwd.waitFor(/^Forwarding /, 30_000)
    assert.match(ready, new RegExp(`→ arm-relay/db \\(endpoint 127\\.0\\.0\\.1:${echo.port}\\)`))
    const r = await echoTransfer(Number(/^Forwarding [\d.]+:(\d+) /.exec(ready)![1]), 512 * 1024)
    assert.equal(r.receivedSha, r.sentSha)
    echo.close()
  })
})
