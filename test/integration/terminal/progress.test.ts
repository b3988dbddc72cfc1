import {strict as assert} from 'node:assert'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {RUN_JS, runCli} from '../../helpers/cli.js'

/**
 * Progress on a real pseudo-terminal: hcctl runs in a tmux pane (its own tmux server on a
 * private socket), every byte it writes to the terminal is recorded with `pipe-pane`, and the
 * emulator's ARM latency fault keeps the command busy long enough to draw. `.ci/run` installs
 * tmux when it is missing.
 */
const FRAMES = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

/** Waits for a condition that an outside process makes true (bounded). */
async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('progress on a terminal (tmux pseudo-terminal)', function () {
  this.timeout(90_000)
  const socket = `hcctl-test-${process.pid}`
  let dir: string
  let emulator: Emulator
  let n = 0

  before(async function () {
    // Reason for skipping: there is no terminal to test on without tmux (.ci/run installs it).
    if (!hasTmux()) this.skip()
    dir = mkdtempSync(join(tmpdir(), 'hcctl-tty-'))
    emulator = await startEmulator({inMemory: true, seed: 'demo', faults: 'arm.latency=400ms'})
  })

  after(async () => {
    try {
      execFileSync('tmux', ['-L', socket, 'kill-server'], {stdio: 'ignore'})
    } catch {
      // the server is already gone
    }
    await emulator?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  /** Runs `hcctl ARGS [| cat]` in a fresh pane; returns what the terminal received and a way to press keys. */
  async function inPane(args: string[], options: {pipe?: boolean; env?: Record<string, string>} = {}) {
    const id = `t${++n}`
    const raw = join(dir, `${id}.raw`)
    const exit = join(dir, `${id}.exit`)
    const script = join(dir, `${id}.sh`)
    const env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir, LANG: 'C.UTF-8', TERM: 'xterm-256color', ...options.env}
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
    writeFileSync(
      script,
      [
        'unset CI NO_COLOR FORCE_COLOR',
        ...Object.entries(env).map(([k, v]) => `export ${k}='${v}'`),
        // A handler (not an ignore) for INT, so that hcctl gets Ctrl+C and this script survives to record its exit code.
        "trap 'true' INT",
        `'${process.execPath}' '${RUN_JS}' ${quoted}${options.pipe ? ' | cat' : ''}`,
        `echo $? > '${exit}.tmp' && mv '${exit}.tmp' '${exit}'`,
        'sleep 600',
      ].join('\n'),
    )
    writeFileSync(raw, '')
    execFileSync('tmux', ['-L', socket, 'new-session', '-d', '-s', id, '-x', '200', '-y', '50', `sleep 0.3; exec bash --norc --noprofile '${script}'`])
    execFileSync('tmux', ['-L', socket, 'pipe-pane', '-t', id, '-o', `cat >> '${raw}'`])
    return {
      raw: () => readFileSync(raw, 'utf8'),
      screen: () => execFileSync('tmux', ['-L', socket, 'capture-pane', '-p', '-t', id], {encoding: 'utf8'}),
      exitCode: () => (existsSync(exit) ? Number(readFileSync(exit, 'utf8').trim()) : undefined),
      press: (key: string) => execFileSync('tmux', ['-L', socket, 'send-keys', '-t', id, key]),
    }
  }

  const create = (name: string) => ['create', name, '--namespace', `ns-${name}`, '-g', 'hcctl-demo', '--endpoint', 'db.corp.example:1433', '--create-namespace']

  it('draws spinner frames with the current step while a slow ARM call runs, and leaves none behind', async () => {
    const pane = await inPane(create('tty1'))
    await until('a spinner frame', () => FRAMES.test(pane.raw()))
    const code = await until('the exit code', pane.exitCode, 60_000)
    assert.equal(code, 0, pane.screen())
    const uncoloured = pane.raw().replace(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g'), '')
    assert.match(uncoloured, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] (reading from Azure Resource Manager|create namespace)/)
    const screen = pane.screen()
    assert.match(screen, /✓ created namespace/)
    assert.doesNotMatch(screen, FRAMES, 'no spinner left on the screen')
  })

  it('draws nothing with --json, nor when stdout is piped', async () => {
    const json = await inPane([...create('tty2'), '--json'])
    const piped = await inPane(create('tty3'), {pipe: true})
    assert.equal(await until('exit of --json', json.exitCode, 60_000), 0, json.screen())
    assert.equal(await until('exit of the piped run', piped.exitCode, 60_000), 0, piped.screen())
    assert.doesNotMatch(json.raw(), FRAMES)
    assert.match(json.raw(), /"changed":/)
    assert.doesNotMatch(piped.raw(), FRAMES)
    assert.match(piped.raw(), /created namespace/)
  })

  it('Ctrl+C ends cleanly: no spinner residue, the cursor back, one interrupt line and exit 130', async () => {
    const pane = await inPane(create('tty4'))
    await until('a spinner frame', () => FRAMES.test(pane.raw()))
    pane.press('C-c')
    const code = await until('the exit code', pane.exitCode, 30_000)
    assert.equal(code, 130, pane.screen())
    assert.match(pane.screen(), /Interrupted by SIGINT/)
    const screen = pane.screen()
    assert.doesNotMatch(screen, FRAMES, `spinner residue:\n${screen}`)
    assert.match(screen, /Error: /)
    const raw = pane.raw()
    assert.ok(raw.lastIndexOf('\u001B[?25h') > raw.lastIndexOf('\u001B[?25l'), 'the cursor is shown again')
  })

  it('check prints each result as it completes, then the hop chain; ASCII without a UTF-8 locale', async () => {
    const pane = await inPane(['check', 'demo-hc', '--namespace', 'demo-relay', '-g', 'hcctl-demo'], {env: {LANG: 'C'}})
    // A first result is on the screen while later checks still run (the spinner is still there).
    await until('a result line under a spinner', () => {
      const raw = pane.raw()
      const first = raw.search(/config\.relay-exists/)
      return first !== -1 && FRAMES.test(raw.slice(first)) && pane.exitCode() === undefined
    })
    const code = await until('the exit code', pane.exitCode, 60_000)
    assert.equal(code, 3, pane.screen())
    const screen = pane.screen()
    assert.match(screen, /ok hcctl \(as sender\) -> ok relay \(demo-relay\) -> X agents \(0\) -> ! endpoint localhost:8080\n {51}listener\.connected/)
    assert.doesNotMatch(screen, FRAMES)
  })

  it('the agent keeps a one-line live status under its log lines, and Ctrl+C stops it with exit 0', async () => {
    const cs = await runCli(['connection-string', 'demo-hc', '--namespace', 'demo-relay', '-g', 'hcctl-demo'], {env: {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir}})
    assert.equal(cs.code, 0, cs.stderr)
    const pane = await inPane(['agent', '--connection-string', cs.stdout.trim()])
    await until('the live status', () => /agent: listening on 1\/1 hybrid connection · 0 connections served/.test(pane.screen()))
    assert.match(pane.screen(), /INFO +listening/)
    pane.press('C-c')
    assert.equal(await until('the exit code', pane.exitCode, 30_000), 0, pane.screen())
    assert.doesNotMatch(pane.screen(), FRAMES)
    assert.doesNotMatch(pane.screen(), /SharedAccessKey=(?!\*\*\*)/)
  })
})
