import {type ChildProcess, spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {request as httpRequest} from 'node:http'
import {type AddressInfo} from 'node:net'
import {lookup} from 'node:dns/promises'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startEmulator, type Emulator, type SeedFile} from '../emulator/index.js'
import {ExitCode, HcctlError} from '../lib/errors.js'
import {redactText} from '../lib/output/redact.js'

/**
 * `hcctl demo`: the main job, end to end, on the embedded emulator. It starts the emulator and a
 * stand-in for an on-premises service, then runs the real hcctl commands as child processes
 * (so what it shows is exactly what a user would type): create and attach a hybrid connection,
 * see it "Not connected", diagnose why, start the agent, see it "Connected", forward a local
 * port through the relay as the app would, call the on-premises service through it, and check
 * every hop. Nothing leaves the machine; everything is torn down at the end.
 *
 * This module composes the emulator and the CLI, so it lives beside them, not in src/lib.
 */

export interface DemoStep {
  title: string
  /** The command line as a user would type it (secrets replaced). */
  command: string
  exitCode: number | null
  /** The exit code the demo expected (a failing `check` before the agent runs is expected). */
  expectedExitCode: number
  durationMs: number
  /** stdout of the command, redacted */
  output: string
}

export interface DemoResult {
  ok: boolean
  steps: DemoStep[]
  /** The call that went app → relay → agent → on-premises service. */
  roundTrip?: {request: string; status: number; body: unknown; durationMs: number}
  emulator: {arm: string; relay: string}
}

export interface DemoOptions {
  /** Called for each thing to show a person (never with secrets). */
  print?: (event: DemoEvent) => void
  signal?: AbortSignal
}

export type DemoEvent =
  | {kind: 'info'; text: string}
  | {kind: 'command'; title: string; command: string}
  | {kind: 'output'; text: string; exitCode: number | null; expected: number}

const RG = 'contoso-rg'
const APP = 'contoso-web'
const NS = 'contoso-relay'
const HC = 'inventory-api'

const SEED: SeedFile = {
  resourceGroups: [{name: RG, location: 'westeurope'}],
  plans: [{resourceGroup: RG, name: 'contoso-plan', sku: 'S1'}],
  sites: [{resourceGroup: RG, name: APP, plan: 'contoso-plan', kind: 'app'}],
}

const RUN_JS = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? (() => {})
  const stateDir = mkdtempSync(join(tmpdir(), 'hcctl-demo-'))
  const children: ChildProcess[] = []
  let emulator: Emulator | undefined
  let service: Server | undefined
  const steps: DemoStep[] = []
  try {
    emulator = await startEmulator({stateDir, inMemory: true, seed: SEED})
    print({kind: 'info', text: `emulator ready: arm=${emulator.armUrl} relay=wss://${emulator.relayAddress.host}:${emulator.relayAddress.port} (in memory)`})
    const host = await demoHost()
    const inventory = await startInventoryService(host.address)
    service = inventory.server
    const endpoint = `${host.name}:${inventory.port}`
    print({kind: 'info', text: `on-premises stand-in: an inventory API on ${endpoint} (${host.address}; only the agent talks to it)`})

    const env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: stateDir}
    const cli = (title: string, args: string[], expected = 0) => runStep(title, args, env, expected, steps, print, options.signal)

    await cli('Create the hybrid connection, its namespace and rules, and attach it to the app', [
      'create', HC, '--namespace', NS, '-g', RG, '--endpoint', endpoint, '--create-namespace', '--location', 'westeurope', '--app', APP,
    ])
    await cli('Run it again: nothing changes (every command is idempotent)', ['create', HC, '--namespace', NS, '-g', RG, '--endpoint', endpoint, '--app', APP])
    await cli('The app sees it, but nobody listens on-premises yet', ['list', '--app', APP, '-g', RG])
    await cli('Diagnose: check walks every hop and says what is wrong (exit 3 expected)', ['check', '--app', APP, '-g', RG], 3)

    const listen = await runStep('Get the agent\'s gateway connection string (a secret: the demo keeps it off the screen)', ['connection-string', HC, '--namespace', NS, '-g', RG], env, 0, steps, print, options.signal, true)
    const agent = startBackground(['agent', '--connection-string', listen.trim()], env, children)
    print({kind: 'command', title: 'Start the agent on-premises (a cross-platform Hybrid Connection Manager)', command: 'hcctl agent --connection-string "$GATEWAY_CONNECTION_STRING"'})
    print({kind: 'output', text: redactText(await waitForLine(agent, 'stderr', /listening/, options.signal)), exitCode: null, expected: 0})

    await cli('The app now shows the connection as Connected', ['list', '--app', APP, '-g', RG])

    const forward = startBackground(['forward', '--app', APP, '-g', RG, '--hc', HC, '--local', '127.0.0.1:0'], env, children)
    print({kind: 'command', title: 'Forward a local port through the relay with the app\'s own key, as the app would', command: `hcctl forward --app ${APP} -g ${RG} --hc ${HC} --local 127.0.0.1:0`})
    const ready = await waitForLine(forward, 'stdout', /Forwarding/, options.signal)
    print({kind: 'output', text: ready, exitCode: null, expected: 0})
    const local = /Forwarding (\S+):(\d+)/.exec(ready)
    if (!local) throw new Error(`hcctl forward printed an unexpected ready line: ${ready}`)

    const path = '/items/sku-42'
    const started = Date.now()
    const response = await httpGet(local[1]!, Number(local[2]), path)
    const roundTrip = {request: `GET ${path}`, status: response.status, body: response.body, durationMs: Date.now() - started}
    print({kind: 'info', text: `GET http://${local[1]}:${local[2]}${path} → ${response.status} ${JSON.stringify(response.body)} (${roundTrip.durationMs} ms, app → relay → agent → service)`})

    await cli('Check again: every hop passes, including a real round trip through the relay', ['check', '--app', APP, '-g', RG])

    const ok = steps.every((s) => s.exitCode === s.expectedExitCode) && response.status === 200
    return {ok, steps, roundTrip, emulator: {arm: emulator.armUrl, relay: `wss://${emulator.relayAddress.host}:${emulator.relayAddress.port}`}}
  } finally {
    await Promise.all(children.map((c) => stopChild(c)))
    if (service) await new Promise<void>((resolve) => service!.close(() => resolve()))
    if (emulator) await emulator.stop()
    rmSync(stateDir, {recursive: true, force: true})
  }
}

async function runStep(
  title: string,
  args: string[],
  env: Record<string, string>,
  expected: number,
  steps: DemoStep[],
  print: (e: DemoEvent) => void,
  signal: AbortSignal | undefined,
  secretOutput = false,
): Promise<string> {
  const command = `hcctl ${args.map(quote).join(' ')}`
  print({kind: 'command', title, command})
  const started = Date.now()
  const child = spawn(process.execPath, [RUN_JS, ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe'], signal})
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const [exitCode] = (await once(child, 'close')) as [number | null]
  const shown = secretOutput ? `(${stdout.trim().length} characters, not shown)` : redactText(stdout.trimEnd())
  const warnings = redactText(stderr.trimEnd())
  steps.push({title, command, exitCode, expectedExitCode: expected, durationMs: Date.now() - started, output: shown})
  print({kind: 'output', text: [shown, warnings].filter(Boolean).join('\n'), exitCode, expected})
  if (exitCode !== expected) {
    throw new HcctlError(`The demo step \`${command}\` exited ${exitCode}, expected ${expected}.`, ExitCode.Unexpected, {
      code: 'DemoStepFailed',
      suggestions: [`Its output: ${(warnings || shown).split('\n').slice(-3).join(' ').trim() || '(none)'}`, 'This is a bug in hcctl or its emulator: please report it with this output.'],
    })
  }
  return stdout
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}

/** A long-running command (agent, forward); everything it prints is kept for error messages. */
interface Background {
  child: ChildProcess
  output: () => string
}

function startBackground(args: string[], env: Record<string, string>, children: ChildProcess[]): Background {
  const child = spawn(process.execPath, [RUN_JS, ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  children.push(child)
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d))
  return {child, output: () => output}
}

/** Resolves with the first line on the stream that matches; rejects if the process exits first. */
function waitForLine(bg: Background, stream: 'stdout' | 'stderr', pattern: RegExp, signal?: AbortSignal): Promise<string> {
  const {child} = bg
  return new Promise((resolve, reject) => {
    let buffer = ''
    const source = child[stream]!
    const onData = (d: string) => {
      buffer += d
      let nl: number
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (pattern.test(line)) {
          cleanup()
          resolve(line)
          return
        }
      }
    }
    const onExit = (code: number | null) => {
      cleanup()
      reject(
        new HcctlError(`A background demo command exited (${code}) before it was ready.`, ExitCode.Unexpected, {
          code: 'DemoStepFailed',
          suggestions: [`Its output: ${redactText(bg.output()).trim().split('\n').slice(-3).join(' ') || '(none)'}`],
        }),
      )
    }
    const onAbort = () => {
      cleanup()
      reject(signal?.reason ?? new Error('aborted'))
    }
    const cleanup = () => {
      source.off('data', onData)
      child.off('exit', onExit)
      signal?.removeEventListener('abort', onAbort)
    }
    source.on('data', onData)
    child.once('exit', onExit)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const closed = once(child, 'close')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await closed
  clearTimeout(timer)
}

/**
 * The endpoint's host: this machine's name, as a real endpoint is a DNS name the agent host
 * resolves (App Service redirects by name; `localhost` or an IP would make `check` warn). The
 * service listens on the address the agent will get for that name (loopback on most
 * machines). Only when the name does not resolve does the demo fall back to `localhost`.
 */
async function demoHost(): Promise<{name: string; address: string}> {
  const name = hostname()
  try {
    if (name && !/^localhost$/i.test(name)) return {name, address: (await lookup(name)).address}
  } catch {
    // The host name does not resolve here: fall back below.
  }
  return {name: 'localhost', address: '127.0.0.1'}
}

/** The on-premises stand-in: a tiny HTTP inventory API on one address of this machine. */
async function startInventoryService(address: string): Promise<{server: Server; port: number}> {
  const server = createServer((req, res) => {
    const sku = /^\/items\/([\w-]+)$/.exec(req.url ?? '')?.[1]
    res.setHeader('content-type', 'application/json')
    if (!sku) {
      res.statusCode = 404
      res.end(JSON.stringify({error: 'no such item'}))
      return
    }
    res.end(JSON.stringify({sku, inStock: 17, warehouse: 'on-premises'}))
  })
  server.listen(0, address)
  await once(server, 'listening')
  return {server, port: (server.address() as AddressInfo).port}
}

function httpGet(host: string, port: number, path: string): Promise<{status: number; body: unknown}> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({host, port, path, headers: {connection: 'close'}}, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => (text += d))
      res.on('end', () => {
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {
          // not JSON: keep the text
        }
        resolve({status: res.statusCode ?? 0, body})
      })
    })
    req.setTimeout(15_000, () => req.destroy(new Error('the call through the relay timed out')))
    req.on('error', reject)
    req.end()
  })
}
