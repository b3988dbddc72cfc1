import {strict as assert} from 'node:assert'
import {spawnSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {type Emulator, startEmulator} from '../../src/emulator/index.js'
import {runProgram} from '../helpers/run.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The line that marks the documented block; the docs may move, so every Markdown file is searched. */
const MARKER = '<!-- test/integration/azure-cli.test.ts runs this block as written'

/** The documented Azure CLI steps: the first fenced block after the marker, in README.md or docs/. */
export function documentedAzureCliSteps(): {file: string; script: string} {
  const files = [join(ROOT, 'README.md')]
  const walk = (dir: string) => {
    if (!existsSync(dir)) return
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      if (entry.isDirectory()) walk(join(dir, entry.name))
      else if (entry.name.endsWith('.md')) files.push(join(dir, entry.name))
    }
  }
  walk(join(ROOT, 'docs'))
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const at = text.indexOf(MARKER)
    if (at === -1) continue
    const block = /```(?:sh|bash)\n([\s\S]*?)```/.exec(text.slice(at))
    if (block) return {file, script: block[1]!}
  }
  throw new Error(`No Markdown file holds the block marked "${MARKER}".`)
}

function findAz(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v az'], {encoding: 'utf8'})
  return r.status === 0 ? r.stdout.trim() : undefined
}

describe('the Azure CLI against the emulator (the documented steps, run as written)', function () {
  // About ten az invocations of 2-8 s each on a loaded two-core machine.
  this.timeout(240_000)
  const az = findAz()
  let emu: Emulator
  let dir: string
  const armLog: string[] = []

  before(async function () {
    if (!az) {
      console.log('      skipped: `az` is not installed here (.ci/run installs the Debian package azure-cli with apt)')
      this.skip()
    }
    dir = mkdtempSync(join(tmpdir(), 'hcctl-azcli-'))
    emu = await startEmulator({stateDir: join(dir, 'emulator'), inMemory: true, seed: 'demo', log: (line) => armLog.push(line)})
  })
  after(async () => {
    await emu?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('registers the emulator from its ARM URL alone, signs in with its principal, lists groups, adds/lists/removes a hybrid connection, and reads a Relay URL with az rest', async () => {
    const {file, script} = documentedAzureCliSteps()
    // The real az, behind a pass-through that works around Debian's broken `hybrid-connection add` only (see the script).
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    copyFileSync(fileURLToPath(new URL('azure-cli/az-wrapper.sh', import.meta.url)), join(bin, 'az'))
    chmodSync(join(bin, 'az'), 0o755)
    const notes = join(dir, 'az-wrapper-notes.txt')
    writeFileSync(notes, '')
    const scriptFile = join(dir, 'steps.sh')
    writeFileSync(scriptFile, `set -euo pipefail\n${script}`)

    const env: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) if (!/^(AZURE_|AZ_|REQUESTS_CA_BUNDLE|SSL_CERT|HCCTL_|HTTPS?_PROXY|https?_proxy|PYTHONPATH)/.test(k)) env[k] = v
    Object.assign(env, {
      PATH: [bin, ...(process.env.PATH ?? '').split(delimiter)].join(delimiter),
      REAL_AZ: az,
      AZ_WRAPPER_NOTES: notes,
      HCCTL_EMULATOR_STATE: emu.stateDir,
      HOME: dir,
      TMPDIR: dir, // the steps' mktemp -d lands here and goes with it
    })
    const r = await runProgram('bash', [scriptFile], {env, timeoutMs: 220_000})
    const workaround = readFileSync(notes, 'utf8').trim()
    if (workaround) console.log(`      note: ${workaround}`)
    assert.equal(r.code, 0, `the steps in ${file} failed (exit ${r.code}):\n${r.stderr}\nstdout:\n${r.stdout}`)

    // What each step printed: the group, the attached hybrid connection, the Relay resource's endpoint metadata.
    assert.deepEqual(r.stdout.trim().split('\n'), ['hcctl-demo', 'demo-hc', '[{"key":"endpoint","value":"localhost:8080"}]'], r.stderr)

    // And what reached the emulator: every ARM call az made was answered with a success ...
    const calls = armLog.filter((l) => l.startsWith('ARM '))
    const refused = calls.filter((l) => !/→ [23]\d\d /.test(l))
    assert.deepEqual(refused, [], `ARM refused calls:\n${calls.join('\n')}`)
    // ... the attach and the removal went to the app's hybrid connection ...
    const site = /Microsoft\.Web\/sites\/demo-app\/hybridConnectionNamespaces\/demo-relay\/relays\/demo-hc\?/i
    assert.ok(calls.some((l) => l.startsWith('ARM PUT') && site.test(l)), calls.join('\n'))
    assert.ok(calls.some((l) => l.startsWith('ARM DELETE') && site.test(l)), calls.join('\n'))
    // ... and the app ends with no hybrid connection, the Relay one untouched.
    const app = emu.state.site(emu.subscriptionId, 'hcctl-demo', 'demo-app')!
    assert.deepEqual(app.hybridConnections, [])
    assert.ok(emu.state.data.namespaces.some((n) => n.name === 'demo-relay' && n.hybridConnections.some((h) => h.name === 'demo-hc')))
    // The only workaround ever applied is the one for Debian's package, and only to `add`.
    for (const line of workaround.split('\n').filter(Boolean)) assert.match(line, /^az webapp hybrid-connection add: Debian's azure-cli package cannot run it/)
  })
})
