import {strict as assert} from 'node:assert'

import type {Emulator} from '../../../src/emulator/index.js'
import {type ConnectProxy, startConnectProxy} from '../../helpers/connect-proxy.js'
import {echoTransfer, failedConnection, startAgent, startEcho, startForward, startRelayEmulator, type HcctlProcess} from './helpers.js'

/**
 * The agent and the forwarder behind a corporate proxy (field notes §8): every relay connection
 * (control channel, management GET, rendezvous, sender) goes through HTTPS_PROXY as a CONNECT
 * tunnel with TLS inside. The emulator is on loopback, which is direct by default, so these
 * tests set HCCTL_PROXY_LOOPBACK=1 as the ARM proxy test does.
 */
describe('e2e: agent and forward through HTTPS_PROXY', function () {
  this.timeout(60_000)
  let em: Emulator
  let echo: Awaited<ReturnType<typeof startEcho>>
  let proxy: ConnectProxy | undefined
  const procs: HcctlProcess[] = []
  const track = <T extends HcctlProcess>(p: T): T => (procs.push(p), p)

  beforeEach(async () => {
    echo = await startEcho()
    em = await startRelayEmulator({hc1: `127.0.0.1:${echo.port}`})
  })
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    echo.close()
    await proxy?.close()
    proxy = undefined
    await em.stop()
  })

  it('tunnels every relay connection through CONNECT; bytes arrive intact', async () => {
    proxy = await startConnectProxy()
    const env = {HTTPS_PROXY: proxy.url, HCCTL_PROXY_LOOPBACK: '1'}
    track(await startAgent(em, ['hc1'], [], env))
    const listenTunnels = proxy.tunnels.length
    assert.ok(listenTunnels >= 1, 'the agent reached the relay through the proxy')
    const fwd = track(await startForward(em, 'hc1', [], env))
    const r = await echoTransfer(fwd.port, 4 * 1024 * 1024)
    assert.equal(r.receivedSha, r.sentSha)
    const relay = `${em.relayAddress.host}:${em.relayAddress.port}`
    assert.ok(proxy.tunnels.length >= listenTunnels + 2, `the sender and the rendezvous went through the proxy too (${proxy.tunnels.join(', ')})`)
    assert.ok(
      proxy.tunnels.every((t) => t === relay),
      `every CONNECT asked for the relay address ${relay}: ${proxy.tunnels.join(', ')}`,
    )
  })

  it('a proxy that refuses CONNECT: the forwarder reports its status per connection, never its credentials; NO_PROXY and loopback go direct', async () => {
    track(await startAgent(em, ['hc1']))
    proxy = await startConnectProxy({refuse: true})
    const secret = 's3cret-proxy-pass'
    const withCreds = proxy.url.replace('http://', `http://alice:${secret}@`)
    const fwd = track(await startForward(em, 'hc1', ['--log-format', 'json'], {HTTPS_PROXY: withCreds, HCCTL_PROXY_LOOPBACK: '1'}))
    assert.equal(await failedConnection(fwd.port), 0)
    const line = await fwd.waitFor(/"result":"failed"/)
    assert.match(line, /through the proxy/)
    assert.match(line, /CONNECT 127\.0\.0\.1:\d+ with 403/)
    assert.equal(fwd.child.exitCode, null, 'a relay failure never stops the forwarder')
    assert.doesNotMatch([...fwd.stdout, ...fwd.stderr].join('\n'), new RegExp(secret), 'the proxy password is not in the output')

    const direct = track(await startForward(em, 'hc1', [], {HTTPS_PROXY: withCreds, HCCTL_PROXY_LOOPBACK: '1', NO_PROXY: '.servicebus.localhost'}))
    const before = proxy.tunnels.length
    const r = await echoTransfer(direct.port, 64 * 1024)
    assert.equal(r.receivedSha, r.sentSha)
    assert.equal(proxy.tunnels.length, before, 'NO_PROXY bypassed the proxy')

    // Without HCCTL_PROXY_LOOPBACK the emulator's loopback address is reached directly.
    const loopback = track(await startForward(em, 'hc1', [], {HTTPS_PROXY: withCreds}))
    const l = await echoTransfer(loopback.port, 64 * 1024)
    assert.equal(l.receivedSha, l.sentSha)
    assert.equal(proxy.tunnels.length, before, 'loopback went direct')
  })
})
