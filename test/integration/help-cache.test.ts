import {strict as assert} from 'node:assert'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {runCli} from '../helpers/cli.js'

interface Manifest {
  commands: Record<string, {hidden?: boolean}>
}

const MANIFEST = JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as Manifest
const CACHE = JSON.parse(readFileSync(new URL('../../dist/help.json', import.meta.url), 'utf8')) as {entries: Record<string, string>}

// bin/run.js answers help into a pipe from dist/help.json; OCLIF_COLUMNS=80 makes oclif render
// the same width itself, so the two paths can be compared byte for byte.
const OCLIF = {OCLIF_COLUMNS: '80'}

describe('help into a pipe comes from the build-time cache, byte-identical to oclif (real processes)', function () {
  this.timeout(60_000)

  it('the cache holds the root, every command of the manifest and every topic', () => {
    const topics = new Set(Object.keys(MANIFEST.commands).flatMap((id) => id.split(':').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join(':'))))
    for (const id of ['', ...Object.keys(MANIFEST.commands), ...topics]) assert.ok(Object.hasOwn(CACHE.entries, id), `help for "${id}" is cached`)
    assert.match(CACHE.entries[''] ?? '', /^VERSION\n {2}\{\{userAgent\}\}$/m, 'the machine-dependent user agent is left to run time')
  })

  for (const args of [['--help'], ['-h'], ['help'], ['tcpping', '--help'], ['help', 'tcpping'], ['keys', '--help'], ['keys', 'rotate', '-h'], ['help', 'arm', 'get'], ['check', '--help']]) {
    it(`hcctl ${args.join(' ')} prints what oclif prints, with exit 0`, async () => {
      const [cached, rendered] = await Promise.all([runCli(args), runCli(args, {env: OCLIF})])
      assert.equal(cached.code, 0, cached.stderr)
      assert.equal(rendered.code, 0, rendered.stderr)
      assert.equal(cached.stdout, rendered.stdout)
      assert.equal(cached.stderr, '')
      assert.match(cached.stdout, /USAGE\n/)
    })
  }

  it('the root help carries this machine\'s user agent, as `--version` prints it', async () => {
    const [help, version] = await Promise.all([runCli(['--help']), runCli(['--version'])])
    assert.ok(help.stdout.includes(`VERSION\n  ${version.stdout}`), help.stdout)
    assert.ok(!help.stdout.includes('{{'), 'no placeholder left')
  })

  it('what the cache cannot answer still reaches oclif: an unknown command, extra flags', async () => {
    for (const args of [['nosuch', '--help'], ['--help', '--json'], ['tcpping', 'example.com:80', '--help']]) {
      const [cached, rendered] = await Promise.all([runCli(args), runCli(args, {env: OCLIF})])
      assert.equal(cached.code, rendered.code, args.join(' '))
      assert.equal(cached.stdout, rendered.stdout, args.join(' '))
    }
  })

  it("the core plugins' commands still run (oclif's full load): autocomplete, and help in a terminal width", async () => {
    const home = mkdtempSync(join(tmpdir(), 'hcctl-autocomplete-'))
    const auto = await runCli(['autocomplete', 'bash'], {env: {HOME: home, XDG_CACHE_HOME: join(home, 'cache'), XDG_CONFIG_HOME: join(home, 'config')}})
    assert.equal(auto.code, 0, auto.stderr)
    assert.match(auto.stdout, /Setup Instructions for HCCTL CLI Autocomplete/)
    const help = await runCli(['help', 'keys'], {env: {OCLIF_COLUMNS: '100'}})
    assert.equal(help.code, 0, help.stderr)
    assert.match(help.stdout, /USAGE\n {2}\$ hcctl keys/)
  })
})
