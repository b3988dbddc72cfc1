import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {request} from 'node:http'
import {connect} from 'node:net'

import type {Emulator} from '../../../src/emulator/index.js'
import {
  allUp,
  echoTransfer,
  failedConnection,
  freePort,
  NS,
  startAgent,
  startEcho,
  startForward,
  startRelayEmulator,
  type HcctlProcess,
  waitForTotal,
} from './helpers.js'

const MiB = 1024 * 1024

/**
 * Whole tunnels: hcctl forward (a real process) → the emulator's relay (in process) → hcctl agent
 * (a real process) → a TCP echo server. Checksums prove nothing is lost or reordered.
 */
describe('e2e: forward → emulator relay → agent → TCP endpoint', function () {
  this.timeout(60_000)
  let em: Emulator
  let echo: Awaited<ReturnType<typeof startEcho>>
  const procs: HcctlProcess[] = []
  const track = <T extends HcctlProcess>(p: T): T => (procs.push(p), p)

  beforeEach(async () => {
    echo = await startEcho()
  })
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    echo.close()
    await em?.stop()
  })

  it('64 MiB each way arrive intact (SHA-256), and one connection line is logged on each side', async () => {
    em = await startRelayEmulator({hc1: `127.0.0.1:${echo.port}`})
    const agent = track(await startAgent(em, ['hc1']))
    const fwd = track(await startForward(em, 'hc1'))
    const t0 = performance.now()
    const r = await echoTransfer(fwd.port, 64 * MiB)
    const seconds = (performance.now() - t0) / 1000
    assert.equal(r.bytes, 64 * MiB)
    assert.equal(r.receivedSha, r.sentSha)
    const line = await agent.waitFor(/ connection .*result=ok/)
    assert.match(line, new RegExp(`bytesToEndpoint=${64 * MiB} bytesFromEndpoint=${64 * MiB}`))
    await fwd.waitFor(/ connection .*result=ok/)
    console.log(`      64 MiB each way in ${seconds.toFixed(2)} s (${((128 / seconds)).toFixed(0)} MiB/s both directions)`)
  })

  it('200 concurrent connections of 1 MiB each, all intact', async function () {
    // ~10-15 s on an idle 2-core machine; several times that when the machine is shared.
    this.timeout(180_000)
    em = await startRelayEmulator({hc1: `127.0.0.1:${echo.port}`})
    const agent = track(await startAgent(em, ['hc1']))
    const fwd = track(await startForward(em, 'hc1'))
    const t0 = performance.now()
    const ready = allUp(200)
    const results = await Promise.all(Array.from({length: 200}, () => echoTransfer(fwd.port, MiB, {chunk: 64 * 1024, ready}))).catch((error) => {
      const problems = [...fwd.stderr, ...agent.stderr].filter((l) => !/ result=ok/.test(l) && / (connection|warning|disconnected) /.test(l))
      throw new Error(`${(error as Error).message}; problems logged:\n${problems.slice(0, 10).join('\n')}`)
    })
    const seconds = (performance.now() - t0) / 1000
    assert.equal(results.length, 200)
    for (const r of results) assert.equal(r.receivedSha, r.sentSha)
    assert.equal(echo.connections, 200)
    console.log(`      200 × 1 MiB echoed in ${seconds.toFixed(2)} s`)
  })

  it('endpoint down: the forward side reports the agent\'s 502 and reason; the agent keeps serving', async () => {
    const port = await freePort()
    em = await startRelayEmulator({hc1: `127.0.0.1:${port}`})
    const agent = track(await startAgent(em, ['hc1']))
    const fwd = track(await startForward(em, 'hc1'))
    assert.equal(await failedConnection(fwd.port), 0)
    const line = await fwd.waitFor(/ connection .*result=failed/)
    assert.match(line, /status=502/)
    assert.match(line, new RegExp(`reason="connect ECONNREFUSED 127\\.0\\.0\\.1:${port} from agent on host [^"]+"`))
    await agent.waitFor(/ connection .*result=rejected.*status=502/)
    // the endpoint comes up: the same agent and forwarder serve the next connection
    const late = await startEcho(port)
    try {
      const r = await echoTransfer(fwd.port, 256 * 1024)
      assert.equal(r.receivedSha, r.sentSha)
    } finally {
      late.close()
    }
    assert.equal(agent.child.exitCode, null)
    assert.equal(fwd.child.exitCode, null)
  })

  it('the emulator drops the control channel: listening again within 3 s, open tunnels keep flowing', async () => {
    em = await startRelayEmulator({hc1: `127.0.0.1:${echo.port}`})
    const agent = track(await startAgent(em, ['hc1']))
    const fwd = track(await startForward(em, 'hc1'))
    const socket = connect(fwd.port, '127.0.0.1')
    await once(socket, 'connect')
    socket.write('before')
    assert.equal(String((await once(socket, 'data'))[0]), 'before')
    const t0 = Date.now()
    em.setFaults('relay.dropListeners=all')
    await agent.waitFor(new RegExp(` listening hc=${NS}/hc1 `), 5000, 2)
    const took = Date.now() - t0
    assert.ok(took < 3000, `listening again after ${took} ms`)
    socket.write('after')
    assert.equal(String((await once(socket, 'data'))[0]), 'after')
    socket.end()
    // and new senders are served by the new control channel
    const r = await echoTransfer(fwd.port, 64 * 1024)
    assert.equal(r.receivedSha, r.sentSha)
  })

  it('two agents on one hybrid connection share the connections; stopping one leaves the other serving', async () => {
    em = await startRelayEmulator({hc1: `127.0.0.1:${echo.port}`})
    const a1 = track(await startAgent(em, ['hc1']))
    const a2 = track(await startAgent(em, ['hc1']))
    const fwd = track(await startForward(em, 'hc1'))
    for (let i = 0; i < 24; i++) {
      const r = await echoTransfer(fwd.port, 16 * 1024)
      assert.equal(r.receivedSha, r.sentSha)
    }
    await waitForTotal([a1, a2], / connection .*result=ok/, 24)
    const n1 = a1.count(/ connection .*result=ok/)
    const n2 = a2.count(/ connection .*result=ok/)
    assert.equal(n1 + n2, 24)
    assert.ok(n1 > 0 && n2 > 0, `spread: ${n1} / ${n2}`)
    const exit = await a1.stop('SIGTERM')
    assert.equal(exit.code, 0)
    for (let i = 0; i < 10; i++) {
      const r = await echoTransfer(fwd.port, 16 * 1024)
      assert.equal(r.receivedSha, r.sentSha)
    }
    await a2.waitFor(/ connection .*result=ok/, 15_000, n2 + 10)
    assert.equal(a2.count(/ connection .*result=ok/), n2 + 10)
  })

  it('SIGTERM during transfers: open tunnels complete within the drain timeout, nothing lost, exit 0', async () => {
    em = await startRelayEmulator({hc1: `127.0.0.1:${echo.port}`})
    const agent = track(await startAgent(em, ['hc1'], ['--drain-timeout', '20']))
    const fwd = track(await startForward(em, 'hc1'))
    // 8 transfers of 2 MiB, paced over ~1.5 s each
    const transfers = Array.from({length: 8}, () => echoTransfer(fwd.port, 2 * MiB, {chunk: 64 * 1024, delayMs: 40}))
    // every tunnel is open (the agent reached the endpoint for each) and data is flowing
    while (echo.connections < 8) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 200))
    const t0 = Date.now()
    agent.child.kill('SIGTERM')
    const results = await Promise.all(transfers)
    for (const r of results) assert.equal(r.receivedSha, r.sentSha)
    const exit = await agent.exited
    assert.equal(exit.code, 0)
    assert.ok(Date.now() - t0 < 20_000)
    const stopped = await agent.waitFor(/ stopped /)
    assert.match(stopped, /cutTunnels=0/)
    assert.equal(agent.count(/ connection .*result=ok/), 8)
  })

  it('health and metrics of a running agent', async () => {
    em = await startRelayEmulator({hc1: `127.0.0.1:${echo.port}`})
    const agent = track(await startAgent(em, ['hc1']))
    const get = (path: string) =>
      new Promise<{status: number; body: string}>((resolve, reject) => {
        request({host: '127.0.0.1', port: agent.healthPort, path}, (res) => {
          let body = ''
          res.setEncoding('utf8').on('data', (d: string) => (body += d))
          res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
        })
          .on('error', reject)
          .end()
      })
    const h = await get('/healthz')
    assert.equal(h.status, 200)
    assert.equal(JSON.parse(h.body).hybridConnections[0].listening, true)
    assert.match((await get('/metrics')).body, new RegExp(`hcctl_agent_listening\\{hc="${NS}/hc1"\\} 1`))
  })
})
