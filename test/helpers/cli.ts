import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const RUN_JS = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON (throws with the raw output when it is not JSON). */
  json<T = unknown>(): T
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv
  input?: string
  cwd?: string
  timeoutMs?: number
}

/**
 * Runs `bin/run.js` as a real process (the built CLI) and collects its output and exit code.
 * The environment is isolated: no Azure or hcctl variables leak in from the developer's shell
 * unless the test passes them, and each run gets a fresh HCCTL_CONFIG_DIR (so no token cache
 * is shared between runs, and the developer's ~/.hcctl is never touched) unless the test
 * passes one (to share a token cache between runs on purpose).
 */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AZURE_|HCCTL_|ARM|MSI_|IDENTITY_|NO_COLOR|FORCE_COLOR|HTTPS?_PROXY|https?_proxy|NO_PROXY|no_proxy)/.test(k)) continue
    env[k] = v
  }
  Object.assign(env, {NO_COLOR: '1', HCCTL_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'hcctl-cli-config-'))}, options.env)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], {env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T
          } catch {
            throw new Error(`stdout is not JSON:\n${stdout}\nstderr:\n${stderr}`)
          }
        },
      })
    })
    child.stdin.end(options.input ?? '')
  })
}
