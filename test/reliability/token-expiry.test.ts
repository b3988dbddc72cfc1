import {strict as assert} from 'node:assert'
import {createHash, randomBytes} from 'node:crypto'
import {once} from 'node:events'
import {connect, createServer, type Server} from 'node:net'

import {WebSocket} from 'ws'

import {type Emulator, startEmulator} from '../../src/emulator/index.js'
import {credentialsFromConnectionString} from '../../src/lib/relay/credentials.js'
import {buildListenUrl, SERVICE_BUS_AUTHORIZATION} from '../../src/lib/relay/protocol.js'
import {transportFromCloud, wsClientOptions} from '../../src/lib/relay/transport.js'
import {runCli} from '../helpers/cli.js'
import {connectionStringOf, count, emulatorWithSeed, type RunningCli, SEED, scaled, startCli} from './helpers.js'

/**
 * Token expiry (issue 12 item 3). Relay: agent and forward sign 5-second SAS tokens for 30 s
 * while tunnels run; the agent must renew on its control channel (the emulator gives no grace:
 * `relay.expireTokensEarly=300` cancels its 300 s), proven by a listener that does not renew
 * being cut. ARM: a token ARM stops accepting after 1-2 s (`arm.expireTokensEarly`) while the
 * client still believes it good for an hour, with latency so that one command spans several
 * expiries: the command must sign in again and succeed, with and without the token cache.
 */
const WINDOW_MS = scaled(30_000, 6_000)
const MiB = 1024 * 1024

function listen(): Promise<Server & {port: number}> {
  return new Promise((resolve) => {
    const server = createServer((s) => (s.on('error', () => {}), s.pipe(s))) as Server & {port: number}
    server.listen(0, '127.0.0.1', () => {
      server.port = (server.address() as {port: number}).port
      resolve(server)
    })
  })
}

interface Checked {
  ok: boolean
  bytes: number
  error?: string
}

/** A tunnel that streams random 16 KiB pieces every 100 ms until `until`, then half-closes and checks the echo by SHA-256. */
function longTunnel(port: number, until: number): Promise<Checked> {
  return new Promise((resolve) => {
    const s = connect({host: '127.0.0.1', port})
    const sent = createHash('sha256')
    const got = createHash('sha256')
    let sentBytes = 0
    let gotBytes = 0
    s.on('data', (d: Buffer) => {
      got.update(d)
      gotBytes += d.length
    })
    s.on('error', (e) => resolve({ok: false, bytes: gotBytes, error: e.message}))
    s.on('end', () => {
      clearInterval(timer)
      const ok = gotBytes === sentBytes && sent.digest('hex') === got.digest('hex') && Date.now() >= until
      resolve({ok, bytes: gotBytes, ...(ok ? {} : {error: `ended with ${gotBytes}/${sentBytes} bytes back`})})
    })
    const timer = setInterval(() => {
      if (Date.now() >= until) {
        clearInterval(timer)
        s.end()
        return
      }
      const piece = randomBytes(16 * 1024)
      sent.update(piece)
      sentBytes += piece.length
      s.write(piece)
    }, 100)
  })
}

/** A new tunnel: `size` random bytes, half-close, the echo checked by SHA-256. */
function shortTunnel(port: number, size: number): Promise<Checked> {
  return new Promise((resolve) => {
    const s = connect({host: '127.0.0.1', port})
    const data = randomBytes(size)
    const got = createHash('sha256')
    let gotBytes = 0
    const timer = setTimeout(() => s.destroy(new Error('no echo within 20 s')), 20_000)
    s.on('data', (d: Buffer) => {
      got.update(d)
      gotBytes += d.length
    })
    s.on('error', (e) => (clearTimeout(timer), resolve({ok: false, bytes: gotBytes, error: e.message})))
    s.on('end', () => {
      clearTimeout(timer)
      const ok = gotBytes === size && got.digest('hex') === createHash('sha256').update(data).digest('hex')
      resolve({ok, bytes: gotBytes, ...(ok ? {} : {error: `${gotBytes}/${size} bytes back`})})
    })
    s.end(data)
  })
}

/** A listener that opens a control channel with a 5-second token and never renews: resolves with the close code and when. */
async function nonRenewingListener(emulator: Emulator, connectionString: string): Promise<{code: number; ms: number}> {
  const creds = credentialsFromConnectionString(connectionString, {cloud: emulator.profile})
  const url = buildListenUrl(creds.host, creds.entity, {id: 'no-renewal'})
  const ws = new WebSocket(url, {headers: {[SERVICE_BUS_AUTHORIZATION]: creds.token(5)}, perMessageDeflate: false, ...wsClientOptions(transportFromCloud(emulator.profile, {}), url)})
  await once(ws, 'open')
  const opened = Date.now()
  const [code] = (await once(ws, 'close')) as [number]
  return {code, ms: Date.now() - opened}
}

describe('reliability: token expiry', function () {
  this.timeout(120_000)

  describe('5-second relay SAS tokens on agent and forward', () => {
    let emulator: Emulator
    let env: NodeJS.ProcessEnv
    let echo: Server & {port: number}
    let agent: RunningCli | undefined
    let forward: RunningCli | undefined

    before(async () => {
      ;({emulator, env} = await emulatorWithSeed())
      echo = await listen()
      const r = await runCli(['endpoint', 'set', 'sql', '--namespace', 'contoso-relay', '-g', 'relay', '--endpoint', `127.0.0.1:${echo.port}`], {env})
      assert.equal(r.code, 0, r.stderr)
      // The emulator's grace after `se` is 300 s (as Azure's ~5 min); this makes `se` the hard limit.
      emulator.setFaults('relay.expireTokensEarly=300')
    })
    after(async () => {
      await forward?.stop('SIGINT')
      await agent?.stop('SIGINT')
      echo?.close()
      await emulator?.stop()
    })

    it(`${WINDOW_MS / 1000} s of tunnels: the agent renews on its control channel, no connection lost, every byte checked, new connections succeed throughout`, async () => {
      agent = startCli(['agent', '--connection-string', await connectionStringOf(env, 'sql'), '--token-ttl', '5s', '--log-format', 'json', '--drain-timeout', '1s'], env)
      await agent.waitFor(/"event":"listening"/)
      forward = startCli(['forward', '--connection-string', await connectionStringOf(env, 'sql', 'defaultSender'), '--local', '127.0.0.1:0', '--token-ttl', '5s', '--log-format', 'json'], env)
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(await forward.waitFor(/Forwarding 127\.0\.0\.1:\d+/))![1])
      const before = emulator.relayTokenCounters()
      // Enforcement is on: the same 5-second token without renewal is cut (1008).
      const control = nonRenewingListener(emulator, await connectionStringOf(env, 'other'))
      const until = Date.now() + WINDOW_MS
      const long = Array.from({length: 4}, () => longTunnel(port, until))
      const short: Checked[] = []
      for (let i = 0; Date.now() < until; i++) {
        // sizes 16 KiB .. 256 KiB, one after another (each awaited), for the whole window
        short.push(await shortTunnel(port, 16 * 1024 * 2 ** (i % 5)))
        await new Promise((r) => setTimeout(r, 50)) // a pace, not a wait: the machine is shared
      }
      const longs = await Promise.all(long)
      const cut = await control
      const after = emulator.relayTokenCounters()
      const renewals = after.renewals - before.renewals
      const disconnects = agent.stderr().split('\n').filter((l) => /"event":"disconnected"/.test(l)).length
      const all = [...longs, ...short]
      const failed = all.filter((r) => !r.ok)
      const bytes = all.reduce((n, r) => n + (r.ok ? r.bytes : 0), 0)
      count(
        `expiry: 5-second SAS for ${WINDOW_MS / 1000} s: ${renewals} renewals seen, ${after.renewalsRefused - before.renewalsRefused} refused, ${disconnects} control-channel drops (a non-renewing listener was cut after ${(cut.ms / 1000).toFixed(1)} s, ${cut.code}); ${all.length} tunnels opened (${longs.length} long-lived past their tokens, ${short.length} new), ${all.length - failed.length}/${all.length} intact, ${(bytes / MiB).toFixed(1)} MiB checked (SHA-256), ${failed.length} lost`,
      )
      assert.deepEqual(failed, [], 'every tunnel intact')
      assert.equal(cut.code, 1008, 'a listener that does not renew is cut')
      assert.ok(cut.ms < 7000, `cut after ${cut.ms} ms`)
      assert.equal(after.expiredClosed - before.expiredClosed, 1, 'only the non-renewing listener expired')
      assert.equal(after.renewalsRefused, before.renewalsRefused)
      assert.equal(disconnects, 0, `the agent's control channel never dropped:\n${agent.stderr()}`)
      assert.ok(renewals >= Math.floor(WINDOW_MS / 2500) - 1, `${renewals} renewals (renewed at half-life, 2.5 s)`)
      assert.ok(short.length >= 10, `${short.length} new connections`)
    })
  })

  describe('an ARM token that expires between two calls of one command', () => {
    let emulator: Emulator
    const calls: Array<{status: number}> = []

    before(async () => {
      emulator = await startEmulator({
        inMemory: true,
        seed: SEED,
        log: (line) => {
          const m = /^ARM \S+ \S+ → (\d+)/.exec(line)
          if (m) calls.push({status: Number(m[1])})
        },
      })
    })
    after(async () => emulator?.stop())

    // Tokens say they live an hour (so MSAL and the token cache reuse them), ARM takes them for
    // 1-2 s only; 300 ms per ARM call makes `create --create-namespace` span several expiries.
    for (const cache of [false, true]) {
      it(`create --create-namespace succeeds across expiries, token cache ${cache ? 'on' : 'off'}`, async () => {
        emulator.setFaults('reset')
        emulator.setFaults('arm.expireTokensEarly=3598,arm.latency=300ms')
        const first = calls.length
        const signIns = emulator.tokens.signIns
        const started = Date.now()
        const name = `expiry-${cache ? 'cached' : 'fresh'}`
        const env: NodeJS.ProcessEnv = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir, ...(cache ? {} : {HCCTL_TOKEN_CACHE: '0'})}
        const r = await runCli(['create', name, '--namespace', `${name}-ns`, '-g', 'relay', '--endpoint', 'db.corp:1433', '--create-namespace'], {env})
        const ms = Date.now() - started
        emulator.setFaults('reset')
        const mine = calls.slice(first)
        const refused = mine.filter((c) => c.status === 401).length
        const reSignIns = emulator.tokens.signIns - signIns - 1
        count(`expiry: ARM tokens good for 1-2 s, cache ${cache ? 'on' : 'off'}: create --create-namespace made ${mine.length} calls in ${(ms / 1000).toFixed(1)} s, ${refused} 401s seen, ${reSignIns} re-sign-ins, exit ${r.code}`)
        assert.equal(r.code, 0, r.stderr)
        assert.ok(refused >= 1, 'a token expired between two calls')
        assert.ok(reSignIns >= refused, 'each refusal was followed by a new sign-in')
        // (the 404s are create asking whether the namespace and hybrid connection exist yet)
        assert.equal(mine.filter((c) => c.status >= 400 && c.status !== 401 && c.status !== 404).length, 0)
      })
    }
  })
})
