import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {connect} from 'node:net'

import type {Emulator} from '../../../src/emulator/index.js'
import {echoTransfer, type HcctlProcess, NS, startAgent, startEcho, startForward, startRelayEmulator} from './helpers.js'

/**
 * Token renewal under pressure: the agent signs 5-second tokens (`--token-ttl 5`, also
 * HCCTL_RELAY_TOKEN_TTL) and the emulator gives no grace after expiry, so a listener that did
 * not renew would be dropped (1008) within seconds. Over 20 s a long-lived tunnel keeps
 * flowing and a new connection every second succeeds, and the control channel never drops.
 * This one test takes ~20 s by design.
 */
describe('e2e: token renewal with 5-second tokens', function () {
  this.timeout(60_000)
  let em: Emulator
  const procs: HcctlProcess[] = []

  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    await em?.stop()
  })

  it('20 s of traffic with no drop', async () => {
    const echo = await startEcho()
    em = await startRelayEmulator({hc1: `127.0.0.1:${echo.port}`})
    // The emulator's default grace is 300 s; expiring tokens 300 s early makes `se` the hard limit.
    em.setFaults('relay.expireTokensEarly=300')
    const agent = await startAgent(em, ['hc1'], [], {HCCTL_RELAY_TOKEN_TTL: '5'})
    procs.push(agent)
    const fwd = await startForward(em, 'hc1', ['--token-ttl', '5'])
    procs.push(fwd)
    const long = connect(fwd.port, '127.0.0.1')
    await once(long, 'connect')
    const deadline = Date.now() + 20_000
    let rounds = 0
    while (Date.now() < deadline) {
      long.write(`tick ${rounds}`)
      assert.equal(String((await once(long, 'data'))[0]), `tick ${rounds}`)
      const r = await echoTransfer(fwd.port, 32 * 1024)
      assert.equal(r.receivedSha, r.sentSha)
      rounds++
      await new Promise((r) => setTimeout(r, 1000))
    }
    long.end()
    assert.ok(rounds >= 15)
    assert.equal(agent.count(/ disconnected /), 0, `control channel dropped:\n${agent.stderr.join('\n')}`)
    assert.equal(agent.count(new RegExp(` listening hc=${NS}/hc1 `)), 1)
    echo.close()
  })
})
