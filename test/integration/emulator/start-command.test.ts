import {strict as assert} from 'node:assert'
import {type ChildProcess, spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {RUN_JS, runCli} from '../../helpers/cli.js'

interface Started {
  child: ChildProcess
  line: string
  stderr: () => string
  ms: number
}

/** Starts `hcctl emulator start ARGS` and resolves with the first stdout line. */
async function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const began = Date.now()
  const child = spawn(process.execPath, [RUN_JS, 'emulator', 'start', ...args], {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!)
    })
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code} before it was ready:\n${stderr}`)))
  })
  return {child, line, stderr: () => stderr, ms: Date.now() - began}
}

async function stop(s: Started, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  const exited = once(s.child, 'exit')
  s.child.kill(signal)
  const [code] = (await exited) as [number | null]
  return code
}


describe('hcctl emulator start (real process)', function () {
  this.timeout(30_000)
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hcctl-emu-cmd-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('prints one ready line, writes profile.json, stops on SIGTERM with the state saved, and a restart reuses CA and state', async () => {
    const first = await start(['--state', dir, '--seed', 'demo'])
    assert.match(first.line, /^emulator ready: arm=https:\/\/127\.0\.0\.1:\d+ relay=wss:\/\/127\.0\.0\.1:\d+ state=\S+$/)
    // How fast it gets ready is a benchmark's question (bench/startup.mjs), not a timed test's:
    // a loaded machine took 5.1-5.9 s here while the code was unchanged.
    const profile = JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8'))
    assert.equal(profile.name, 'emulator')
    assert.equal(profile.relaySuffix, '.servicebus.localhost')
    assert.equal(profile.disableInstanceDiscovery, true)
    assert.ok(profile.defaults.clientSecret && profile.defaults.subscriptionId)
    assert.doesNotMatch(first.line + first.stderr(), new RegExp(profile.defaults.clientSecret), 'no secret on stdout/stderr')
    const ca = readFileSync(join(dir, 'ca.pem'), 'utf8')

    // --cloud emulator works in another command while it runs.
    const list = await runCli(['cloud', 'list', '--json'], {env: {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: dir}})
    assert.equal(list.code, 0, list.stderr)
    const active = list.json<{clouds: Array<{name: string; active: boolean; armEndpoint: string}>}>().clouds.find((c) => c.active)
    assert.equal(active?.name, 'emulator')
    assert.equal(active?.armEndpoint, profile.armEndpoint)

    assert.equal(await stop(first), 0)
    const saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))
    assert.ok(saved.namespaces.some((n: {name: string}) => n.name === 'demo-relay'))

    const second = await start(['--state', dir, '--json'])
    const ready = JSON.parse(second.line)
    assert.equal(ready.ready, true)
    assert.equal(ready.tenantId, saved.tenantId)
    assert.equal(readFileSync(join(dir, 'ca.pem'), 'utf8'), ca, 'the CA is reused')
    assert.equal(await stop(second, 'SIGINT'), 0)
  })

  it('--in-memory saves no state.json; status and stop find it by state dir; a bad --faults spec is a usage error (exit 2)', async () => {
    const s = await start(['--state', dir, '--in-memory'])
    assert.match(s.line, /^emulator ready: /)
    const twice = await runCli(['emulator', 'start', '--state', dir])
    assert.equal(twice.code, 6, 'a second emulator on the same state dir is a conflict')
    assert.match(twice.stderr, /already runs/)
    const status = await runCli(['emulator', 'status', '--state', dir, '--json'])
    assert.equal(status.code, 0, status.stderr)
    assert.equal(status.json<{running: boolean; pid: number; inMemory: boolean}>().pid, s.child.pid)
    const exited = once(s.child, 'exit')
    const stopped = await runCli(['emulator', 'stop', '--state', dir])
    assert.equal(stopped.code, 0, stopped.stderr)
    assert.match(stopped.stdout, /^stopped: pid \d+/)
    assert.equal((await exited)[0], 0)
    const after = await runCli(['emulator', 'status', '--state', dir])
    assert.equal(after.code, 3)
    assert.match(after.stdout, /^not running: /)
    assert.equal((await runCli(['emulator', 'stop', '--state', dir])).code, 4)
    assert.throws(() => readFileSync(join(dir, 'state.json')))
    const bad = await runCli(['emulator', 'start', '--state', dir, '--faults', 'arm.teapot=1'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /unknown fault "arm.teapot"/)
  })
})
