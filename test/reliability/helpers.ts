import {type ChildProcess, spawn} from 'node:child_process'
import {once} from 'node:events'

import {type Emulator, type SeedFile, startEmulator} from '../../src/emulator/index.js'
import {RUN_JS, runCli} from '../helpers/cli.js'

/**
 * Helpers of the reliability tier: an emulator with one namespace, and hcctl as a real
 * long-running process (agent, forward) whose output can be awaited line by line.
 * Scale knobs come from the environment so the tier can run small while developing:
 * HCCTL_REL_SCALE=0.1 runs a tenth of every count (the default, 1, is the documented size).
 */
export const SCALE = Math.max(0.01, Number(process.env.HCCTL_REL_SCALE ?? '1') || 1)
export const scaled = (n: number, min = 1) => Math.max(min, Math.round(n * SCALE))

export const SEED: SeedFile = {
  resourceGroups: [{name: 'relay'}, {name: 'apps'}],
  plans: [{resourceGroup: 'apps', name: 'plan-std', sku: 'S1'}],
  sites: [{resourceGroup: 'apps', name: 'web-1', plan: 'plan-std'}],
  namespaces: [
    {
      resourceGroup: 'relay',
      name: 'contoso-relay',
      hybridConnections: [
        {name: 'sql', endpoint: 'db01.corp:1433', defaultRules: true},
        {name: 'other', endpoint: 'db02.corp:1433', defaultRules: true},
      ],
    },
  ],
}

export async function emulatorWithSeed(seed: SeedFile = SEED): Promise<{emulator: Emulator; env: NodeJS.ProcessEnv}> {
  const emulator = await startEmulator({inMemory: true, seed})
  return {emulator, env: {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir}}
}

/** A connection string of a rule, read with `hcctl connection-string` (the way a user gets it). */
export async function connectionStringOf(env: NodeJS.ProcessEnv, hc: string, rule = 'defaultListener'): Promise<string> {
  const r = await runCli(['connection-string', hc, '--namespace', 'contoso-relay', '-g', 'relay', '--rule', rule], {env})
  if (r.code !== 0) throw new Error(`connection-string failed (${r.code}): ${r.stderr}`)
  return r.stdout.trim()
}

export interface RunningCli {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves with the first line (stdout or stderr) matching, or rejects after timeoutMs or when the process ends. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Sends the signal and resolves with the exit code and how long the process took to end. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{code: number | null; signal: NodeJS.Signals | null; ms: number}>
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AZURE_|HCCTL_|ARM|NO_COLOR|FORCE_COLOR|HTTPS?_PROXY|https?_proxy|NO_PROXY|no_proxy)/.test(k)) continue
    clean[k] = v
  }
  const child = spawn(process.execPath, [RUN_JS, ...args], {env: {...clean, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d
    for (const w of waiters) w()
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d
    for (const w of waiters) w()
  })
  const exited = once(child, 'exit').then(([code, signal]) => ({code: code as number | null, signal: signal as NodeJS.Signals | null}))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = `${out}\n${err}`.split('\n').find((l) => pattern.test(l))
          if (line !== undefined) {
            done()
            resolve(line)
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms.\nstdout:\n${out}\nstderr:\n${err}`))
        }, timeoutMs)
        const onExit = () => {
          check()
          done()
          reject(new Error(`the process ended before a line matched ${pattern}.\nstdout:\n${out}\nstderr:\n${err}`))
        }
        const done = () => {
          clearTimeout(timer)
          waiters.delete(check)
          child.off('exit', onExit)
        }
        waiters.add(check)
        child.once('exit', onExit)
        check()
      })
    },
    async stop(signal = 'SIGINT', timeoutMs = 30_000) {
      const started = Date.now()
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      const r = await exited
      clearTimeout(timer)
      return {...r, ms: Date.now() - started}
    },
  }
}

/** Prints the one count line a reliability test ends with. */
export function count(line: string): void {
  process.stdout.write(`      ${line}\n`)
}
