import {strict as assert} from 'node:assert'
import {createHash, randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {connect, createServer, type Server, type Socket} from 'node:net'

import type {Emulator} from '../../src/emulator/index.js'
import {connectionStringOf, count, emulatorWithSeed, type RunningCli, scaled, startCli} from './helpers.js'

/**
 * Integrity under load and shutdown, end to end with real processes:
 * client → `hcctl forward` → emulator relay → `hcctl agent` → TCP echo server.
 * Sizes are the (200 tunnels × 4 MiB each way, 50 draining tunnels); HCCTL_REL_SCALE
 * shrinks them while developing.
 */
const TUNNELS = scaled(200, 2)
const BYTES = scaled(4 * 1024 * 1024, 64 * 1024)
const DRAINING = scaled(50, 2)
const CHUNK = 64 * 1024
const TRANSFER_BOUND_MS = 150_000

interface Transfer {
  sentSha: string
  receivedSha: string
  received: number
}

/** One client: sends `bytes` random bytes, reads the echo, compares SHA-256. */
function transfer(port: number, bytes: number, options: {halfClose?: boolean} = {}): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const sent = createHash('sha256')
    const got = createHash('sha256')
    let received = 0
    const socket = connect({host: '127.0.0.1', port, allowHalfOpen: true})
    // Bounded: a tunnel that stalls fails with what it got, instead of hanging the tier.
    const stalled = setTimeout(() => {
      socket.destroy()
      reject(new Error(`stalled after ${received} of ${bytes} bytes`))
    }, TRANSFER_BOUND_MS)
    socket.once('close', () => clearTimeout(stalled))
    const finish = () => {
      socket.destroy()
      resolve({sentSha: sent.digest('hex'), receivedSha: got.digest('hex'), received})
    }
    socket.on('data', (d: Buffer) => {
      got.update(d)
      received += d.length
      if (received >= bytes && !options.halfClose) finish()
    })
    socket.on('end', () => (options.halfClose ? finish() : undefined))
    socket.on('error', reject)
    socket.on('close', () => {
      if (received < bytes) reject(new Error(`closed after ${received} of ${bytes} bytes`))
    })
    socket.once('connect', async () => {
      let left = bytes
      while (left > 0) {
        const chunk = randomBytes(Math.min(CHUNK, left))
        sent.update(chunk)
        left -= chunk.length
        if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r))
      }
      if (options.halfClose) socket.end()
    })
  })
}

function echoServer(): Promise<Server & {port: number}> {
  return new Promise((resolve) => {
    const server = createServer({allowHalfOpen: true}, (s: Socket) => {
      s.on('error', () => {})
      s.pipe(s)
    }) as Server & {port: number}
    server.listen(0, '127.0.0.1', () => {
      server.port = (server.address() as {port: number}).port
      resolve(server)
    })
  })
}

/** Peak resident set size of a process (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN
}

describe('reliability: integrity under load and shutdown (forward → relay → agent → echo)', function () {
  this.timeout(240_000)
  let emulator: Emulator
  let env: NodeJS.ProcessEnv
  let echo: Server & {port: number}
  let listenCs: string
  let sendCs: string

  before(async () => {
    ;({emulator, env} = await emulatorWithSeed())
    echo = await echoServer()
    // The hybrid connection's endpoint is the echo server.
    const {runCli} = await import('../helpers/cli.js')
    const set = await runCli(['endpoint', 'set', 'sql', '--namespace', 'contoso-relay', '-g', 'relay', '--endpoint', `127.0.0.1:${echo.port}`], {env})
    assert.equal(set.code, 0, set.stderr)
    listenCs = await connectionStringOf(env, 'sql')
    sendCs = await connectionStringOf(env, 'sql', 'defaultSender')
  })
  after(async () => {
    echo.close()
    await emulator.stop()
  })

  async function startPair(drain = '30s'): Promise<{agent: RunningCli; forward: RunningCli; port: number}> {
    const agent = startCli(['agent', '--connection-string', listenCs, '--drain-timeout', drain], env)
    await agent.waitFor(/listening/)
    const forward = startCli(['forward', '--connection-string', sendCs, '--local', '127.0.0.1:0'], env)
    const ready = await forward.waitFor(/Forwarding 127\.0\.0\.1:\d+/)
    return {agent, forward, port: Number(/127\.0\.0\.1:(\d+)/.exec(ready)![1])}
  }

  it(`${TUNNELS} concurrent tunnels × ${BYTES} bytes each way: every SHA-256 equal, agent RSS bounded`, async () => {
    const {agent, forward, port} = await startPair()
    try {
      const started = Date.now()
      const results = await Promise.all(
        Array.from({length: TUNNELS}, () => transfer(port, BYTES).catch((error: Error) => ({sentSha: 'x', receivedSha: error.message, received: 0}))),
      )
      const seconds = (Date.now() - started) / 1000
      const equal = results.filter((r) => r.sentSha === r.receivedSha && r.received === BYTES).length
      const lost = results.reduce((n, r) => n + Math.max(0, BYTES - r.received), 0)
      const rss = peakRssMiB(agent.child.pid!)
      count(`load: ${TUNNELS} tunnels × ${(BYTES / 1048576).toFixed(2)} MiB each way in ${seconds.toFixed(1)} s, ${equal}/${TUNNELS} SHA-256 equal, ${lost} bytes lost, agent peak RSS ${rss} MiB`)
      const failures = [...new Set(results.filter((r) => r.sentSha === 'x').map((r) => r.receivedSha))]
      const errors = `${forward.stderr()}\n${agent.stderr()}`.split('\n').filter((l) => /WARN|ERROR/.test(l)).slice(0, 5)
      assert.equal(equal, TUNNELS, `client errors: ${failures.join('; ')}\nlogs:\n${errors.join('\n')}`)
      assert.ok(rss < 1024, `agent peak RSS ${rss} MiB`)
    } finally {
      await forward.stop('SIGINT')
      await agent.stop('SIGINT')
    }
  })

  it(`again with half of the clients half-closing after their last byte`, async function () {
    const {agent, forward, port} = await startPair()
    try {
      const results = await Promise.all(Array.from({length: TUNNELS}, (_, i) => transfer(port, BYTES, {halfClose: i % 2 === 0})))
      const equal = results.filter((r) => r.sentSha === r.receivedSha && r.received === BYTES).length
      count(`load (half-close): ${TUNNELS} tunnels, ${Math.ceil(TUNNELS / 2)} half-closing, ${equal}/${TUNNELS} SHA-256 equal`)
      assert.equal(equal, TUNNELS)
    } finally {
      await forward.stop('SIGINT')
      await agent.stop('SIGINT')
    }
  })

  it(`SIGTERM to an agent with ${DRAINING} active tunnels drains them: all complete, exit 0, within the drain timeout`, async () => {
    const {agent, forward, port} = await startPair('20s')
    try {
      const half = 32 * 1024
      // Each client sends half, waits for its echo, then (after the SIGTERM) the other half.
      let echoedFirstHalf = 0
      let release!: () => void
      const go = new Promise<void>((r) => (release = r))
      const clients = Array.from(
        {length: DRAINING},
        () =>
          new Promise<boolean>((resolve, reject) => {
            const a = randomBytes(half)
            const b = randomBytes(half)
            const chunks: Buffer[] = []
            let got = 0
            const s = connect({host: '127.0.0.1', port})
            s.on('error', reject)
            s.on('data', (d: Buffer) => {
              chunks.push(d)
              got += d.length
              if (got === half) {
                echoedFirstHalf++
                void go.then(() => s.write(b))
              }
              if (got === 2 * half) {
                s.end()
                resolve(Buffer.concat(chunks).equals(Buffer.concat([a, b])))
              }
            })
            s.on('close', () => (got < 2 * half ? reject(new Error(`tunnel cut after ${got} bytes`)) : undefined))
            s.write(a)
          }),
      )
      while (echoedFirstHalf < DRAINING) await new Promise((r) => setTimeout(r, 50))
      const signalled = Date.now()
      agent.child.kill('SIGTERM')
      await agent.waitFor(/draining/)
      release()
      const completed = (await Promise.all(clients)).filter(Boolean).length
      const {code} = await agent.exited
      const ms = Date.now() - signalled
      count(`shutdown: SIGTERM with ${DRAINING} active tunnels, ${completed}/${DRAINING} completed intact, agent exit ${code} after ${(ms / 1000).toFixed(1)} s (drain timeout 20 s)`)
      assert.equal(completed, DRAINING)
      assert.equal(code, 0, agent.stderr())
      assert.ok(ms < 20_000, `drained in ${ms} ms, within the drain timeout`)
      assert.doesNotMatch(agent.stderr(), /cutTunnels=[1-9]/, 'no tunnel was cut')
    } finally {
      await forward.stop('SIGINT')
      await agent.stop('SIGKILL')
    }
  })

  it('SIGKILL of the agent: every forward client sees its connection end (no hang)', async () => {
    const {agent, forward, port} = await startPair()
    const n = Math.min(DRAINING, 20)
    try {
      const sockets = await Promise.all(
        Array.from(
          {length: n},
          () =>
            new Promise<Socket>((resolve, reject) => {
              const s = connect({host: '127.0.0.1', port})
              s.on('error', () => {})
              s.once('data', () => resolve(s))
              s.once('close', () => reject(new Error('closed before the echo')))
              s.write('ping')
            }),
        ),
      )
      const ended = sockets.map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve()))))
      agent.child.kill('SIGKILL')
      const started = Date.now()
      await Promise.all(ended)
      count(`shutdown: SIGKILL of the agent, ${n}/${n} forward clients saw their connection end within ${((Date.now() - started) / 1000).toFixed(1)} s`)
    } finally {
      await forward.stop('SIGINT')
      await agent.stop('SIGKILL')
    }
  })
})
