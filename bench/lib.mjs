// Shared by the benchmarks: process timing, alternating rounds, medians and ratios.
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const RUN = join(ROOT, 'bin', 'run.js')

export const tempDir = (prefix) => mkdtempSync(join(tmpdir(), `hcctl-bench-${prefix}-`))

/** A clean environment: no Azure/hcctl settings from the caller's shell, no colours. */
export function benchEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AZURE_|HCCTL_|ARM|MSI_|IDENTITY_|HTTPS?_PROXY|https?_proxy|NO_PROXY|no_proxy)/.test(k)) continue
    env[k] = v
  }
  return {...env, NO_COLOR: '1', ...extra}
}

/** Runs a command to completion; resolves with its wall time in ms (rejects on a non-zero exit). */
export async function timed(command, args, env) {
  const t0 = process.hrtime.bigint()
  const child = spawn(command, args, {env, stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const [code] = await once(child, 'close')
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (code !== 0) throw new Error(`${[command, ...args].join(' ')} exited ${code}: ${stderr.slice(0, 500)}`)
  return ms
}

export const quantile = (list, p) => {
  const s = [...list].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]
}
export const median = (list) => quantile(list, 0.5)

/**
 * Runs every case once per round, in turn (so drift and other load hit all cases alike), after
 * one uncounted warm-up round (unless `warmup` is false). A case is {name, command, args, env}
 * or has `prepare()` returning extra env for one run (e.g. a fresh token cache).
 * Returns {name: {median, p90, runs}}.
 */
export async function alternate(cases, rounds, {warmup = true} = {}) {
  const times = new Map(cases.map((c) => [c.name, []]))
  for (let r = warmup ? -1 : 0; r < rounds; r++) {
    for (const c of cases) {
      const env = {...c.env, ...(c.prepare ? c.prepare() : {})}
      const ms = await timed(c.command ?? process.execPath, c.args, env)
      if (r >= 0) times.get(c.name).push(ms)
    }
  }
  return Object.fromEntries(cases.map((c) => [c.name, {median: round(median(times.get(c.name))), p90: round(quantile(times.get(c.name), 0.9)), runs: rounds}]))
}

export const round = (n, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

/** The benchmark emulator (bench/emulator.mjs) with a seed; `count()` returns the ARM requests since the last call. */
export async function startBenchEmulator(seed) {
  const dir = tempDir('emu')
  const seedFile = join(dir, 'seed.json')
  writeFileSync(seedFile, JSON.stringify(seed))
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'emulator.mjs'), seedFile], {stdio: ['pipe', 'pipe', 'inherit']})
  const lines = createInterface({input: child.stdout})[Symbol.asyncIterator]()
  const next = async () => {
    const {value, done} = await lines.next()
    if (done) throw new Error('the bench emulator exited')
    return JSON.parse(value)
  }
  const info = await next()
  return {
    ...info,
    async count() {
      child.stdin.write('count\n')
      return (await next()).arm
    },
    async stop() {
      child.stdin.end('stop\n')
      await once(child, 'close')
    },
  }
}

export function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)))
  const line = (cells) => cells.map((v, i) => String(v ?? '').padEnd(widths[i])).join('  ')
  return [line(columns), ...rows.map((r) => line(columns.map((c) => r[c])))].join('\n')
}
