import {strict as assert} from 'node:assert'
import {readFileSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {runCli} from '../../helpers/cli.js'
import {fakeJwt} from '../../helpers/scripted-server.js'

/**
 * What a new user met in the README and help (issue 14, part 7), as real processes: each of
 * these was wrong once.
 */
describe('first run: what the help and the README promise holds', function () {
  this.timeout(60_000)

  it('-h is help, like --help, for the CLI and for a command', async () => {
    for (const args of [['-h'], ['tcpping', '-h'], ['relay', 'test', '-h']]) {
      const r = await runCli(args)
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stdout, /USAGE/, args.join(' '))
    }
  })

  it('token --decode shows the header, the claims and the expiry, as its help says', async () => {
    const raw = fakeJwt({aud: 'x', exp: 4102444800, name: 'me'})
    const r = await runCli(['token', '--decode', '--access-token', raw])
    assert.equal(r.code, 0, r.stderr)
    const shown = JSON.parse(r.stdout) as {header: {alg?: string; typ?: string}; claims: {name: string}}
    assert.ok(shown.header && Object.keys(shown.header).length > 0, r.stdout)
    assert.equal(shown.claims.name, 'me')
    assert.match(r.stderr, /^expires 2100-01-01T00:00:00.000Z/)
  })

  it('a broken agent config names its format (JSON or YAML), and the help it points to has the file format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcctl-first-run-'))
    try {
      writeFileSync(join(dir, 'agent.json'), '{"hybridConnections": [')
      writeFileSync(join(dir, 'agent.yaml'), 'hybridConnections: [\n  - : :\n')
      const json = await runCli(['agent', '--config', join(dir, 'agent.json')])
      assert.equal(json.code, 2, json.stderr)
      assert.match(json.stderr, /is not valid JSON/)
      assert.doesNotMatch(json.stderr, /YAML/)
      assert.match(json.stderr, /See "Agent config file" in `hcctl agent --help`/)
      const yaml = await runCli(['agent', '--config', join(dir, 'agent.yaml')])
      assert.equal(yaml.code, 2, yaml.stderr)
      assert.match(yaml.stderr, /is not valid YAML/)
      const help = await runCli(['agent', '--help'])
      assert.match(help.stdout, /Agent config file/)
      for (const key of ['hybridConnections:', 'connectionString:', 'connectionStringEnv:', 'connectionStringFile:', 'health:', 'logFormat:', 'drainTimeout:', 'connectTimeout:', 'idleTimeout:', 'tokenTtl:']) {
        assert.ok(help.stdout.includes(key), `agent --help lacks ${key}`)
      }
      // The example file in deploy/ uses the same keys.
      const example = readFileSync(new URL('../../../deploy/agent.example.yaml', import.meta.url), 'utf8')
      for (const key of ['drainTimeout:', 'tokenTtl:', 'connectionStringFile:']) assert.ok(example.includes(key))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('relay test takes sizes with units (--bulk 50MB), and says what a bad size is', async () => {
    // Past flag parsing, it fails on the connection string: the size was accepted.
    const ok = await runCli(['relay', 'test', '--bulk', '50MB', '--size', '4K', '--connection-string', 'x'])
    assert.equal(ok.code, 2)
    assert.match(ok.stderr, /connection string is invalid/)
    const bad = await runCli(['relay', 'test', '--bulk', '50QB', '--connection-string', 'x', '--json'])
    assert.equal(bad.code, 2)
    const e = bad.json<{error: {code: string; message: string}}>().error
    assert.equal(e.code, 'InvalidSize')
    assert.equal(e.message, '--bulk "50QB" is not a size.')
  })

  it('with --json an error is one JSON object on stdout and nothing on stderr, for every command (the README\'s rule)', async function () {
    this.timeout(180_000)
    const manifest = JSON.parse(readFileSync(new URL('../../../oclif.manifest.json', import.meta.url), 'utf8')) as {commands: Record<string, unknown>}
    const ids = Object.keys(manifest.commands)
    assert.ok(ids.length >= 20, `${ids.length} commands in the manifest`)
    const results = new Map<string, Awaited<ReturnType<typeof runCli>>>()
    for (let i = 0; i < ids.length; i += 4) {
      await Promise.all(ids.slice(i, i + 4).map(async (id) => results.set(id, await runCli([...id.split(':'), '--json', '--no-such-flag']))))
    }
    for (const id of ids) {
      const r = results.get(id)!
      assert.equal(r.code, 2, `${id}: exit ${r.code}, stderr ${r.stderr}`)
      assert.equal(r.stderr, '', `${id} wrote to stderr`)
      const e = r.json<{error: {code: string; exitCode: number; message: string}}>().error
      assert.equal(e.exitCode, 2, id)
      assert.match(e.message, /no-such-flag/, id)
    }
    // A failure after parsing follows the same rule.
    const r = await runCli(['show', 'hc', '--namespace', 'ns', '-g', 'rg', '--cloud', 'no-such-cloud', '--json'])
    assert.equal(r.stderr, '')
    assert.equal(r.json<{error: {exitCode: number}}>().error.exitCode, r.code)
  })

  describe('against the emulator', () => {
    let emulator: Emulator
    let env: NodeJS.ProcessEnv
    before(async () => {
      emulator = await startEmulator({inMemory: true, seed: 'demo'})
      env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir}
    })
    after(async () => {
      await emulator?.stop()
    })

    it('attach and disconnect say what happened to the app\'s hybrid connection, not to the app', async () => {
      const at = ['demo-hc', '--namespace', 'demo-relay', '--app', 'demo-app', '-g', 'hcctl-demo']
      const a = await runCli(['attach', ...at], {env})
      assert.equal(a.code, 0, a.stderr)
      assert.match(a.stdout, /✓ attached app demo-app \(/)
      const d = await runCli(['disconnect', ...at], {env})
      assert.equal(d.code, 0, d.stderr)
      assert.match(d.stdout, /✓ detached app demo-app from demo-relay\/demo-hc/)
      assert.doesNotMatch(a.stdout + d.stdout, /(created|deleted) app/)
    })
  })
})
