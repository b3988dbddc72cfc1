import {strict as assert} from 'node:assert'
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {runProgram, type RunResult} from '../../helpers/run.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {name: string; version: string}
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function run(command: string, args: string[], options: {cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number}): Promise<RunResult> {
  return runProgram(command, args, {...options, env: {...process.env, NO_COLOR: '1', ...options.env}})
}

/**
 * The package as users get it: `npm pack` of this checkout (`--ignore-scripts`: `npm test` has just
 * built dist/ and the manifest, which `prepack` rebuilds for everyone else), laid out in an empty
 * prefix as `npm install -g` lays it out (`lib/node_modules/hcctl`, `bin/hcctl` linking to its bin
 * script). The tarball is the only source of hcctl. Its dependencies are installed in it by
 * `npm ci --omit=dev --offline` with this checkout's lockfile: from npm's local cache, which the
 * `npm ci` before `npm test` filled, so nothing leaves the machine. (`npm install -g` of the
 * tarball cannot run offline: npm 11 resolves every dependency from its full registry document,
 * which `npm ci` never fetches.) The installed `hcctl` runs from that prefix, away from this
 * checkout.
 */
describe('the npm package: packed, installed into a clean prefix as npm install -g lays it out, and run', function () {
  // Measured on the shared two-core machine: pack 6 s, install 24 s, demo 10-45 s.
  this.timeout(240_000)
  let dir: string
  let hcctl: string
  let home: string
  let packed: {filename: string; files: {path: string}[]}

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'hcctl-package-'))
    home = join(dir, 'home')
    mkdirSync(home)
    const pack = await run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {cwd: ROOT, timeoutMs: 120_000})
    assert.equal(pack.code, 0, `npm pack failed:\n${pack.stderr}`)
    packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!
    const prefix = join(dir, 'prefix')
    const installed = join(prefix, 'lib', 'node_modules', PKG.name)
    mkdirSync(installed, {recursive: true})
    const untar = await run('tar', ['-xzf', join(dir, packed.filename), '-C', installed, '--strip-components', '1'], {cwd: dir, timeoutMs: 60_000})
    assert.equal(untar.code, 0, untar.stderr)
    copyFileSync(join(ROOT, 'package-lock.json'), join(installed, 'package-lock.json'))
    const install = await run(NPM, ['ci', '--omit=dev', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {cwd: installed, timeoutMs: 180_000})
    assert.equal(install.code, 0, `npm ci of the unpacked tarball failed (is npm's cache filled? run npm ci first):\n${install.stderr}`)
    mkdirSync(join(prefix, 'bin'))
    symlinkSync(join('..', 'lib', 'node_modules', PKG.name, 'bin', 'run.js'), join(prefix, 'bin', 'hcctl'))
    hcctl = join(prefix, 'bin', 'hcctl')
    assert.ok(existsSync(hcctl), `no hcctl in ${prefix}`)
  })
  after(() => {
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('ships what runs and nothing of the sources or tests', () => {
    const paths = packed.files.map((f) => f.path)
    assert.ok(paths.includes('package.json'))
    assert.ok(paths.some((p) => p.startsWith('bin/')), paths.join('\n'))
    assert.deepEqual(paths.filter((p) => /^(src|test|bench|\.ci)\//.test(p)), [])
    for (const built of ['dist/cli.js', 'dist/commands.js', 'dist/help.json', 'oclif.manifest.json']) assert.ok(paths.includes(built), built)
  })

  it('hcctl --version prints the version line; with --json: version, Node and platform for bug reports', async () => {
    const plain = await run(hcctl, ['--version'], {cwd: home, env: {HOME: home}, timeoutMs: 30_000})
    assert.equal(plain.code, 0, plain.stderr)
    assert.equal(plain.stdout, `${PKG.name}/${PKG.version} ${process.platform}-${process.arch} node-${process.version}\n`)
    const json = await run(hcctl, ['--version', '--json'], {cwd: home, env: {HOME: home}, timeoutMs: 30_000})
    assert.equal(json.code, 0, json.stderr)
    const info = JSON.parse(json.stdout) as Record<string, string>
    assert.equal(info.name, PKG.name)
    assert.equal(info.version, PKG.version)
    assert.equal(info.node, process.version)
    assert.equal(info.platform, process.platform)
    assert.equal(info.arch, process.arch)
    assert.equal(typeof info.osRelease, 'string')
  })

  it('hcctl --help lists the commands', async () => {
    const r = await run(hcctl, ['--help'], {cwd: home, env: {HOME: home}, timeoutMs: 30_000})
    assert.equal(r.code, 0, r.stderr)
    for (const word of ['USAGE', 'create', 'attach', 'agent', 'forward', 'check', 'emulator', 'demo']) assert.match(r.stdout, new RegExp(`\\b${word}\\b`))
  })

  it('hcctl demo runs the whole job from the installed package', async () => {
    const r = await run(hcctl, ['demo', '--json'], {cwd: home, env: {HOME: home}, timeoutMs: 180_000})
    assert.equal(r.code, 0, `stderr:\n${r.stderr}\nstdout:\n${r.stdout.slice(-2000)}`)
    const result = JSON.parse(r.stdout) as {ok: boolean; roundTrip?: {status: number}}
    assert.equal(result.ok, true)
    assert.equal(result.roundTrip?.status, 200)
  })
})
