#!/usr/bin/env node
// Start-up time of hcctl against bare `node -e 0`, measured side by side: every round runs
// each case once, in turn, so drift (CPU frequency, caches, other load) hits all cases alike.
// Prints the median and p90 per case and the ratio of medians to bare node. Not a test.
//
//   npm run bench:startup            (builds first)
//   node bench/startup.mjs --rounds 30
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const run = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const roundsArg = process.argv.indexOf('--rounds')
const rounds = roundsArg === -1 ? 20 : Number(process.argv[roundsArg + 1])

const cases = [
  {name: 'node -e 0', args: ['-e', '0']},
  {name: 'hcctl --version', args: [run, '--version']},
  {name: 'hcctl --help', args: [run, '--help']},
  {name: 'hcctl arm --help', args: [run, 'arm', '--help']},
]
const targets = {'hcctl --version': 2.5, 'hcctl --help': 3}

const env = {...process.env, NO_COLOR: '1'}
const times = new Map(cases.map((c) => [c.name, []]))
// one warm-up round (file system cache), not counted
for (const c of cases) spawnSync(process.execPath, c.args, {env, stdio: 'ignore'})
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const t0 = process.hrtime.bigint()
    const res = spawnSync(process.execPath, c.args, {env, stdio: 'ignore'})
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (res.status !== 0) throw new Error(`${c.name} exited ${res.status}`)
    times.get(c.name).push(ms)
  }
}

const pct = (list, p) => {
  const s = [...list].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]
}
const base = pct(times.get('node -e 0'), 0.5)
console.log(`node ${process.version}, ${rounds} alternating rounds`)
console.log('case                 median     p90   ratio  target')
for (const c of cases) {
  const med = pct(times.get(c.name), 0.5)
  const target = targets[c.name] ? `<= ${targets[c.name]}x` : ''
  console.log(`${c.name.padEnd(18)} ${med.toFixed(0).padStart(6)}ms ${pct(times.get(c.name), 0.9).toFixed(0).padStart(5)}ms ${(med / base).toFixed(2).padStart(6)}x  ${target}`)
}
