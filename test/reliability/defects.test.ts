import {strict as assert} from 'node:assert'

import {existsSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type Emulator, startEmulator} from '../../src/emulator/index.js'
import {runCli} from '../helpers/cli.js'
import {connectionStringOf, count, emulatorWithSeed, SEED, startCli} from './helpers.js'

/**
 * The defects found by trying hcctl as a new user would (issue 12, item 9), each as a real
 * process against the emulator: what was wrong, asserted the way a user sees it.
 */
describe('reliability: defects a new user found', function () {
  this.timeout(90_000)
  let emulator: Emulator
  let env: NodeJS.ProcessEnv
  let listenCs: string
  let checked = 0

  before(async () => {
    ;({emulator, env} = await emulatorWithSeed())
    listenCs = await connectionStringOf(env, 'sql')
  })
  after(async () => {
    await emulator.stop()
    count(`defects: ${checked} user-found defects checked as processes, 0 regressed`)
  })

  it('an agent in ARM-name mode whose relay is unreachable stops on the first SIGINT within its drain bound', async () => {
    const agent = startCli(['agent', 'sql', '--namespace', 'contoso-relay', '-g', 'relay', '--drain-timeout', '1s'], {
      ...env,
      HTTPS_PROXY: 'http://127.0.0.1:1',
      NO_PROXY: '127.0.0.1',
      HCCTL_PROXY_LOOPBACK: '1',
    })
    await agent.waitFor(/reconnecting|disconnected/)
    const {code, ms} = await agent.stop('SIGINT')
    assert.equal(code, 0, agent.stderr())
    assert.ok(ms < 1000 + 5000, `took ${ms} ms (drain bound 1 s)`)
    checked++
  })

  it('SIGTERM stops it the same way', async () => {
    const agent = startCli(['agent', 'sql', '--namespace', 'contoso-relay', '-g', 'relay', '--drain-timeout', '1s'], {...env, HTTPS_PROXY: 'http://127.0.0.1:1', NO_PROXY: '127.0.0.1', HCCTL_PROXY_LOOPBACK: '1'})
    await agent.waitFor(/reconnecting|disconnected/)
    const {code} = await agent.stop('SIGTERM')
    assert.equal(code, 0, agent.stderr())
    checked++
  })

  it('an unreachable ARM (emulator stopped) is a network failure naming the host, exit 1, not a sign-in failure', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'hcctl-rel-'))
    const stopped = await startEmulator({inMemory: true, stateDir, seed: SEED})
    await stopped.stop()
    assert.ok(existsSync(join(stateDir, 'profile.json')), 'the profile outlives the emulator, as after `emulator stop` of a kept state dir')
    const stoppedEnv = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: stateDir}
    const r = await runCli(['list', '--namespace', 'contoso-relay', '-g', 'relay'], {env: stoppedEnv, timeoutMs: 60_000})
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /^Error: Cannot reach the sign-in endpoint 127\.0\.0\.1:\d+: /)
    assert.doesNotMatch(r.stderr, /az login|access token/i)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    checked++
  })

  it('relay test --scratch on a namespace that does not exist exits 4', async () => {
    const r = await runCli(['relay', 'test', '--scratch', '--namespace', 'nosuch', '-g', 'relay'], {env})
    assert.equal(r.code, 4, r.stderr)
    assert.match(r.stderr, /No relay namespace nosuch/)
    checked++
  })

  it('forward to a hybrid connection that does not exist stops with exit 4', async () => {
    const sendCs = (await connectionStringOf(env, 'sql', 'defaultSender')).replace(/EntityPath=sql/, 'EntityPath=nosuch')
    const r = await runCli(['forward', '--connection-string', sendCs, '--local', '127.0.0.1:0'], {env, timeoutMs: 30_000})
    assert.equal(r.code, 4, r.stderr)
    assert.match(r.stderr, /"nosuch".* does not exist/)
    checked++
  })

  it('agent HC --namespace NS with the same HC as --connection-string refuses the duplicate (exit 2)', async () => {
    const r = await runCli(['agent', 'sql', '--namespace', 'contoso-relay', '-g', 'relay', '--connection-string', listenCs], {env, timeoutMs: 30_000})
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /given twice/)
    checked++
  })

  it('a quoted connection string gets a hint about the quotes', async () => {
    const r = await runCli(['agent', '--connection-string', `"${listenCs}"`], {env})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /wrapped in quotes/)
    assert.doesNotMatch(r.stderr, new RegExp(listenCs.split('SharedAccessKey=')[1]!.split(';')[0]!.replace(/[+/=]/g, '.')), 'the key is not echoed')
    checked++
  })

  it('forward --local 0.0.0.0:PORT warns that the tunnel is open to the network', async () => {
    const sendCs = await connectionStringOf(env, 'sql', 'defaultSender')
    const fwd = startCli(['forward', '--connection-string', sendCs, '--local', '0.0.0.0:0'], env)
    await fwd.waitFor(/Forwarding/)
    assert.match(fwd.stderr(), /accepts connections from other machines/)
    const {code} = await fwd.stop('SIGINT')
    assert.equal(code, 0)
    checked++
  })

  it('connection-string --rule defaultSender warns that an agent cannot listen with it', async () => {
    const r = await runCli(['connection-string', 'sql', '--namespace', 'contoso-relay', '-g', 'relay', '--rule', 'defaultSender'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /cannot listen/)
    assert.match(r.stdout, /^Endpoint=sb:/, 'the string itself is still printed, alone, on stdout')
    checked++
  })

  it('Ctrl+C in relay test --scratch is an interrupt (exit 130, one line) and removes the scratch hybrid connection', async () => {
    emulator.setFaults('relay.stallRendezvous=true')
    try {
      const test = startCli(['relay', 'test', '--scratch', '--namespace', 'contoso-relay', '-g', 'relay', '--verbose', '--timeout', '20s'], env)
      await test.waitFor(/connecting \d+ sender/)
      const {code} = await test.stop('SIGINT')
      assert.equal(code, 130, test.stderr())
      const errorLines = test.stderr().split('\n').filter((l) => /^Error:/.test(l))
      assert.equal(errorLines.length, 1, test.stderr())
      assert.match(errorLines[0]!, /Interrupted by SIGINT\. Done before it stopped: removed the temporary hybrid connection contoso-relay\/hcctl-test-/)
      assert.doesNotMatch(test.stderr(), /probably a bug/)
      const left = await runCli(['list', '--namespace', 'contoso-relay', '-g', 'relay', '--json'], {env})
      assert.doesNotMatch(left.stdout, /hcctl-test-/, 'no scratch hybrid connection is left behind')
    } finally {
      emulator.setFaults('relay.stallRendezvous=false')
    }
    checked++
  })

  it('relay test with no answering listener and --timeout 3s ends in bounded time and says what it waits for', async () => {
    emulator.setFaults('relay.stallRendezvous=true')
    try {
      const started = Date.now()
      const r = await runCli(['relay', 'test', '--scratch', '--namespace', 'contoso-relay', '-g', 'relay', '--timeout', '3s', '--connections', '1'], {env, timeoutMs: 60_000})
      const ms = Date.now() - started
      assert.equal(r.code, 3, r.stderr)
      assert.match(r.stderr, /waiting: connecting 1 sender/)
      // 1 connect (3 s) + the retries' shared 3 s, plus start-up and the scratch resources.
      assert.ok(ms < 25_000, `took ${ms} ms`)
    } finally {
      emulator.setFaults('relay.stallRendezvous=false')
    }
    checked++
  })
})
