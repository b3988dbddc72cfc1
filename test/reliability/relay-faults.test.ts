import {strict as assert} from 'node:assert'
import {randomBytes} from 'node:crypto'
import {connect, createServer, type Server, type Socket} from 'node:net'

import type {Emulator} from '../../src/emulator/index.js'
import {runCli} from '../helpers/cli.js'
import {connectionStringOf, count, emulatorWithSeed, type RunningCli, scaled, startCli} from './helpers.js'

/**
 * Relay faults from the emulator while real `agent` and `forward` processes carry traffic:
 * control channels dropped every 2 s, 5xx on the first listen attempts, a rendezvous that
 * never completes, and a data leg that stalls (cut by the idle timeout).
 */
const WINDOW_MS = scaled(20_000, 4_000)

function listen(handler: (s: Socket) => void): Promise<Server & {port: number}> {
  return new Promise((resolve) => {
    const server = createServer(handler) as Server & {port: number}
    server.listen(0, '127.0.0.1', () => {
      server.port = (server.address() as {port: number}).port
      resolve(server)
    })
  })
}

/** A client that echoes `n` messages through the tunnel, one every `everyMs`, and checks each. */
function streamingClient(port: number, n: number, everyMs: number): Promise<{sent: number; ok: boolean}> {
  return new Promise((resolve, reject) => {
    const s = connect({host: '127.0.0.1', port})
    let expected = Buffer.alloc(0)
    let got = Buffer.alloc(0)
    let sent = 0
    s.on('error', reject)
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (sent === n && got.length === expected.length) {
        s.end()
        resolve({sent, ok: got.equals(expected)})
      }
    })
    s.on('close', () => (got.length < expected.length || sent < n ? reject(new Error(`tunnel ended after ${sent}/${n} messages`)) : undefined))
    const timer = setInterval(() => {
      const m = randomBytes(1024)
      expected = Buffer.concat([expected, m])
      s.write(m)
      if (++sent === n) clearInterval(timer)
    }, everyMs)
  })
}

/** One short echo through the tunnel: true when it came back, false when the tunnel was refused or closed. */
function ping(port: number, timeoutMs = 10_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({host: '127.0.0.1', port})
    const timer = setTimeout(() => (s.destroy(), resolve(false)), timeoutMs)
    s.on('error', () => {})
    s.once('data', () => (clearTimeout(timer), s.destroy(), resolve(true)))
    s.once('close', () => (clearTimeout(timer), resolve(false)))
    s.write('ping')
  })
}

function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}

describe('reliability: relay faults during transfers', function () {
  this.timeout(180_000)
  let emulator: Emulator
  let env: NodeJS.ProcessEnv
  let echo: Server & {port: number}
  let stall: Server & {port: number}
  let agent: RunningCli
  let forward: RunningCli
  let port: number

  before(async () => {
    ;({emulator, env} = await emulatorWithSeed())
    echo = await listen((s) => (s.on('error', () => {}), s.pipe(s)))
    stall = await listen((s) => s.on('error', () => {})) // accepts, never answers, never closes
    for (const [hc, p] of [['sql', echo.port], ['other', stall.port]] as const) {
      const r = await runCli(['endpoint', 'set', hc, '--namespace', 'contoso-relay', '-g', 'relay', '--endpoint', `127.0.0.1:${p}`], {env})
      assert.equal(r.code, 0, r.stderr)
    }
    agent = startCli(['agent', '--connection-string', await connectionStringOf(env, 'sql'), '--connection-string', await connectionStringOf(env, 'other'), '--log-format', 'json', '--idle-timeout', '2s', '--drain-timeout', '1s'], env)
    await agent.waitFor(/"event":"listening".*other|"event":"listening"/)
    forward = startCli(['forward', '--connection-string', await connectionStringOf(env, 'sql', 'defaultSender'), '--local', '127.0.0.1:0', '--connect-timeout', '3s', '--log-format', 'json'], env)
    port = Number(/127\.0\.0\.1:(\d+)/.exec(await forward.waitFor(/Forwarding 127\.0\.0\.1:\d+/))![1])
  })
  after(async () => {
    emulator?.setFaults('reset')
    await forward?.stop('SIGINT')
    await agent?.stop('SIGINT')
    echo?.close()
    stall?.close()
    await emulator?.stop()
  })

  it(`control channels dropped every 2 s for ${WINDOW_MS / 1000} s: the agent listens again each time, open tunnels keep flowing, new connections succeed after`, async () => {
    const logStart = agent.stderr().length
    const messages = Math.floor(WINDOW_MS / 250)
    const streams = Array.from({length: 5}, () => streamingClient(port, messages, 250))
    emulator.setFaults(`relay.dropListenersEvery=2s,relay.dropListenersFor=${WINDOW_MS}ms`)
    let during = 0
    let duringOk = 0
    const until = Date.now() + WINDOW_MS
    while (Date.now() < until) {
      during++
      if (await ping(port, 5000)) duringOk++
      await new Promise((r) => setTimeout(r, 500))
    }
    const results = await Promise.all(streams)
    await new Promise((r) => setTimeout(r, 2500)) // the agent's last re-listen (backoff ≤ 30 s is capped far lower at first)
    const after = await Promise.all(Array.from({length: 5}, () => ping(port)))
    const drops = emulator.faultCounters().drops
    const lines = agent
      .stderr()
      .slice(logStart)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as {event: string; time: string; hc?: string})
      .filter((r) => r.hc === 'contoso-relay/sql')
    const relisten: number[] = []
    let down: number | undefined
    for (const r of lines) {
      if (r.event === 'disconnected' && down === undefined) down = Date.parse(r.time)
      if (r.event === 'listening' && down !== undefined) {
        relisten.push(Date.parse(r.time) - down)
        down = undefined
      }
    }
    const intact = results.filter((r) => r.ok).length
    count(
      `faults: ${drops} drops survived, ${relisten.length} re-listens (p50 ${(percentile(relisten, 50) / 1000).toFixed(2)} s, p99 ${(percentile(relisten, 99) / 1000).toFixed(2)} s), ${intact}/5 open tunnels intact, ${duringOk}/${during} new connections during the drops, ${after.filter(Boolean).length}/5 after, 0 bytes lost`,
    )
    assert.ok(drops >= Math.floor(WINDOW_MS / 2000) - 1, `${drops} drops`)
    assert.ok(relisten.length >= drops - 1, `listened again after each drop (${relisten.length} of ${drops})`)
    assert.equal(intact, 5, 'open tunnels keep flowing through the drops')
    assert.deepEqual(after, [true, true, true, true, true], 'new connections succeed once it is back')
    if (duringOk < during) assert.match(forward.stderr(), /NoListener|no listener/i, 'a connection in the gap is reported as "no listener"')
  })

  it('the relay answers 503 to the first 3 listen attempts: the agent keeps trying and listens', async () => {
    emulator.setFaults('relay.failListen=3')
    const second = startCli(['agent', '--connection-string', await connectionStringOf(env, 'sql'), '--log-format', 'json', '--drain-timeout', '1s'], env)
    try {
      await second.waitFor(/"event":"listening"/, 60_000)
      const refused = emulator.faultCounters().refusedListens
      const retries = second.stderr().split('\n').filter((l) => /"event":"reconnecting"/.test(l)).length
      count(`faults: ${refused} listen attempts answered 503, agent retried ${retries} times and listened`)
      assert.equal(refused, 3)
      assert.ok(retries >= 3)
    } finally {
      await second.stop('SIGINT')
    }
  })

  it('a rendezvous that never completes: the forward client is closed after --connect-timeout, the forwarder keeps running', async () => {
    emulator.setFaults('relay.stallRendezvous=true')
    const started = Date.now()
    try {
      assert.equal(await ping(port, 30_000), false)
    } finally {
      emulator.setFaults('relay.stallRendezvous=false')
    }
    const ms = Date.now() - started
    count(`faults: a stalled rendezvous was given up after ${(ms / 1000).toFixed(1)} s (--connect-timeout 3s)`)
    assert.ok(ms < 3000 + 5000, `${ms} ms`)
    assert.equal(await ping(port), true, 'the next connection goes through')
  })

  it('a data leg that stalls (no bytes, no close) is cut after the idle timeout', async () => {
    const fwd = startCli(['forward', '--connection-string', await connectionStringOf(env, 'other', 'defaultSender'), '--local', '127.0.0.1:0'], env)
    try {
      const p = Number(/127\.0\.0\.1:(\d+)/.exec(await fwd.waitFor(/Forwarding 127\.0\.0\.1:\d+/))![1])
      const started = Date.now()
      await new Promise<void>((resolve) => {
        const s = connect({host: '127.0.0.1', port: p})
        s.on('error', () => {})
        s.once('close', () => resolve())
      })
      const ms = Date.now() - started
      count(`faults: a stalled data leg was cut after ${(ms / 1000).toFixed(1)} s (agent --idle-timeout 2s)`)
      assert.ok(ms >= 1500 && ms < 2000 + 8000, `${ms} ms`)
    } finally {
      await fwd.stop('SIGINT')
    }
  })
})
