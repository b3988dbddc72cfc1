#!/usr/bin/env node
/* global performance */
// `npm run bench`: every performance figure of hcctl, each measured side by side with its
// reference in one run (rounds alternate between the cases, so drift and other load hit them
// alike), printed as ratios and written to bench/results.json (figures, Node version, CPU
// count, date). Not a test: the targets are printed next to the ratios, never asserted.
//
//   start-up      hcctl --version, --help (cached; and as oclif renders it in a terminal),
//                 tcpping --help                                 vs node -e 0
//   arm           list --app, show, arm get; cold (signs in) and warm (cached token)
//                                                                 vs node -e 0 and vs az webapp hybrid-connection list
//   scale         hcctl list of a subscription with 50 plans, 500 apps, 100 hybrid connections:
//                 wall time and ARM requests (counted by the emulator) vs one call per app
//   tunnels       bench/tunnel.mjs: throughput and round trips vs TCP/TLS chains, new tunnels
//                 per second, agent RSS with 1,000 idle tunnels, agent CPU per GiB
//
// Options: --only start-up,arm,scale,tunnels   --rounds N (start-up; the others scale from it)
//          --quick (tiny sizes: the smoke test that keeps this from rotting)   --out FILE
// Run `npm run build` first (npm run bench does).
import {spawnSync} from 'node:child_process'
import {cpus, loadavg} from 'node:os'
import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {ROOT, RUN, alternate, benchEnv, round, startBenchEmulator, table, tempDir, timed} from './lib.mjs'
import {printTunnel, tunnelBench} from './tunnel.mjs'

const argv = process.argv.slice(2)
const opt = (name) => {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? undefined : argv[i + 1]
}
const quick = argv.includes('--quick')
const only = opt('only')?.split(',')
const wanted = (section) => !only || only.includes(section)
const rounds = Number(opt('rounds') ?? (quick ? 1 : 8))
const out = opt('out') ?? join(ROOT, 'bench', 'results.json')
const warmup = !quick // --quick proves that each figure can be measured, not what it is

const NODE = {name: 'node -e 0', args: ['-e', '0'], env: benchEnv()}
const ratio = (a, b) => round(a / b, 2)
const started = Date.now()
const results = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  loadAverageAtStart: loadavg().map((l) => round(l, 2)),
  quick,
  sections: {},
}

function report(title, rows, columns) {
  console.log(`\n== ${title}\n${table(rows, columns)}`)
}

// ---------------------------------------------------------------- start-up
async function startup() {
  const cases = [
    NODE,
    {name: 'hcctl --version', args: [RUN, '--version'], env: benchEnv()},
    {name: 'hcctl --help', args: [RUN, '--help'], env: benchEnv()},
    // Into a pipe (above) help comes from the build's cache; in a terminal oclif renders it:
    // a set width takes that path here.
    {name: 'hcctl --help (oclif renders)', args: [RUN, '--help'], env: benchEnv({OCLIF_COLUMNS: '80'})},
    {name: 'hcctl tcpping --help', args: [RUN, 'tcpping', '--help'], env: benchEnv()},
  ]
  const t = await alternate(cases, rounds, {warmup})
  const base = t[NODE.name].median
  const targets = {'hcctl --version': 1.8, 'hcctl --help': 2.0}
  const rows = cases.map((c) => ({case: c.name, 'median ms': t[c.name].median, 'p90 ms': t[c.name].p90, 'vs node': `${ratio(t[c.name].median, base)}x`, target: targets[c.name] ? `<= ${targets[c.name]}x` : ''}))
  report(`start-up (${rounds} alternating rounds)`, rows, ['case', 'median ms', 'p90 ms', 'vs node', 'target'])
  return {times: t, vsNode: Object.fromEntries(cases.slice(1).map((c) => [c.name, ratio(t[c.name].median, base)])), targets}
}

// ---------------------------------------------------------------- one ARM command
const ARM_SEED = {
  resourceGroups: [{name: 'hcctl-demo'}],
  plans: [{resourceGroup: 'hcctl-demo', name: 'demo-plan', sku: 'S1'}],
  sites: [{resourceGroup: 'hcctl-demo', name: 'demo-app', plan: 'demo-plan', kind: 'app'}],
  namespaces: [{resourceGroup: 'hcctl-demo', name: 'demo-relay', hybridConnections: [{name: 'demo-hc', endpoint: 'localhost:8080', defaultRules: true}]}],
  attachments: [{resourceGroup: 'hcctl-demo', site: 'demo-app', namespace: 'demo-relay', hybridConnection: 'demo-hc', sendKeyName: 'defaultSender'}],
}

/** Registers the emulator as a cloud in a private AZURE_CONFIG_DIR and signs az in; the env for az, or {skipped}. */
function azAgainst(em) {
  const which = spawnSync('az', ['version', '--output', 'none'], {stdio: 'ignore', env: benchEnv({AZURE_CONFIG_DIR: tempDir('az-probe')})})
  if (which.error || which.status !== 0) return {skipped: 'az is not installed (or does not run): no Azure CLI row'}
  const env = benchEnv({AZURE_CONFIG_DIR: tempDir('az'), REQUESTS_CA_BUNDLE: join(dirname(em.caPath), 'ca-bundle.pem'), AZURE_CORE_COLLECT_TELEMETRY: 'false', AZURE_CORE_ONLY_SHOW_ERRORS: 'true', AZURE_CORE_NO_COLOR: 'true'})
  const base = em.armUrl.replace(/\/+$/, '')
  const steps = [
    // The documented steps (docs/emulator.md, run by test/integration/azure-cli.test.ts).
    ['cloud', 'register', '-n', 'hcctl-emulator', '--endpoint-resource-manager', base],
    ['cloud', 'set', '-n', 'hcctl-emulator'],
    ['login', '--service-principal', '--tenant', em.tenantId, '--username', em.principal.clientId, `--password=${em.principal.clientSecret}`, '--allow-no-subscriptions', '--output', 'none'],
    ['account', 'set', '-s', em.subscriptionId],
    ['webapp', 'hybrid-connection', 'list', '-g', 'hcctl-demo', '-n', 'demo-app', '--output', 'none'],
  ]
  for (const step of steps) {
    const r = spawnSync('az', step, {env, encoding: 'utf8'})
    if (r.status !== 0) return {skipped: `az ${step.slice(0, 2).join(' ')} failed against the emulator: ${(r.stderr || r.stdout || '').trim().split('\n')[0]}`}
  }
  return {env}
}

async function arm() {
  const em = await startBenchEmulator(ARM_SEED)
  try {
    const cloud = ['--cloud', em.profilePath]
    const warmDir = tempDir('warm')
    const warm = benchEnv({HCCTL_CONFIG_DIR: warmDir})
    await timed(process.execPath, [RUN, 'token', ...cloud], warm) // the warm cases find a cached token
    const cold = () => ({HCCTL_CONFIG_DIR: tempDir('cold')})
    const commands = {
      'list --app': ['list', '--app', 'demo-app', '-g', 'hcctl-demo', '--json', ...cloud],
      show: ['show', 'demo-hc', '--namespace', 'demo-relay', '-g', 'hcctl-demo', '--json', ...cloud],
      'arm get': ['arm', 'get', '/subscriptions/{subscriptionId}/resourceGroups/hcctl-demo/providers/Microsoft.Web/sites/demo-app/hybridConnectionNamespaces/demo-relay/relays/demo-hc?api-version=2025-05-01', ...cloud],
    }
    const cases = [NODE]
    for (const [name, args] of Object.entries(commands)) {
      cases.push({name: `hcctl ${name} (cold)`, args: [RUN, ...args], env: benchEnv(), prepare: cold})
      cases.push({name: `hcctl ${name} (warm)`, args: [RUN, ...args], env: warm})
    }
    const az = azAgainst(em)
    const AZ = 'az webapp hybrid-connection list'
    if (az.env) cases.push({name: AZ, command: 'az', args: ['webapp', 'hybrid-connection', 'list', '-g', 'hcctl-demo', '-n', 'demo-app', '--output', 'json'], env: az.env})
    else console.log(`\n(arm: ${az.skipped})`)
    const armRounds = Math.max(1, Math.round(rounds / 2))
    const t = await alternate(cases, armRounds, {warmup})
    const base = t[NODE.name].median
    const azMedian = t[AZ]?.median
    const rows = cases.map((c) => ({
      case: c.name,
      'median ms': t[c.name].median,
      'p90 ms': t[c.name].p90,
      'vs node': `${ratio(t[c.name].median, base)}x`,
      'vs az': azMedian ? `${ratio(t[c.name].median, azMedian)}x` : '',
    }))
    report(`one ARM command against the emulator (${armRounds} alternating rounds; cold = signs in, warm = cached token); targets: list --app warm <= 3x node, <= 0.25x az`, rows, ['case', 'median ms', 'p90 ms', 'vs node', 'vs az'])
    return {
      times: t,
      vsNode: Object.fromEntries(cases.slice(1).map((c) => [c.name, ratio(t[c.name].median, base)])),
      vsAz: azMedian ? Object.fromEntries(cases.slice(1).map((c) => [c.name, ratio(t[c.name].median, azMedian)])) : undefined,
      az: az.env ? 'measured' : az.skipped,
      targets: {'hcctl list --app (warm) vs node': 3, 'hcctl list --app (warm) vs az': 0.25},
    }
  } finally {
    await em.stop()
  }
}

// ---------------------------------------------------------------- subscription scale
function scaleSeed(size) {
  const seed = {resourceGroups: [{name: 'scale-web'}, {name: 'scale-relay'}], plans: [], sites: [], namespaces: [], attachments: []}
  for (let p = 0; p < size.plans; p++) {
    const plan = `plan-${p}`
    seed.plans.push({resourceGroup: 'scale-web', name: plan, sku: 'P1v3'})
    for (let a = 0; a < size.apps / size.plans; a++) seed.sites.push({resourceGroup: 'scale-web', name: `app-${p}-${a}`, plan, kind: 'app'})
  }
  for (let n = 0; n < size.namespaces; n++) {
    const hybridConnections = []
    for (let h = 0; h < size.hcs / size.namespaces; h++) hybridConnections.push({name: `hc-${h}`, endpoint: `db-${n}-${h}.internal:5432`, defaultRules: true})
    seed.namespaces.push({resourceGroup: 'scale-relay', name: `relay-${n}`, hybridConnections})
  }
  // each hybrid connection attached to two apps (on different plans)
  let i = 0
  for (const ns of seed.namespaces) {
    for (const hc of ns.hybridConnections) {
      for (let k = 0; k < 2; k++, i++) {
        const site = seed.sites[(i * 7) % seed.sites.length]
        seed.attachments.push({resourceGroup: 'scale-web', site: site.name, namespace: ns.name, hybridConnection: hc.name, sendKeyName: 'defaultSender'})
      }
    }
  }
  return seed
}

/** The naive way, in-process through the library's ARM client: list the apps, then ask each app for its hybrid connections. */
async function perAppBaseline(em, configDir) {
  const {createAzureContext, loadProfileFile} = await import('../dist/index.js')
  const ctx = createAzureContext({cloud: loadProfileFile(em.profilePath), env: benchEnv({HCCTL_CONFIG_DIR: configDir})})
  try {
    const t0 = performance.now()
    const sites = await ctx.arm.list('/subscriptions/{subscriptionId}/providers/Microsoft.Web/sites')
    let next = 0
    let found = 0
    await Promise.all(
      Array.from({length: 8}, async () => {
        while (next < sites.length) {
          const site = sites[next++]
          const relays = await ctx.arm.list(`${site.id}/hybridConnectionRelays`)
          found += relays.length
        }
      }),
    )
    return {ms: round(performance.now() - t0), apps: sites.length, attachments: found}
  } finally {
    ctx.close()
  }
}

async function scale() {
  const size = quick ? {plans: 5, apps: 20, namespaces: 2, hcs: 6} : {plans: 50, apps: 500, namespaces: 5, hcs: 100}
  const em = await startBenchEmulator(scaleSeed(size))
  try {
    const configDir = tempDir('scale')
    const env = benchEnv({HCCTL_CONFIG_DIR: configDir})
    const args = [RUN, 'list', '--json', '--cloud', em.profilePath]
    await timed(process.execPath, [RUN, 'token', '--cloud', em.profilePath], env) // signs in once: the runs below use the cached token
    await em.count()
    const listRounds = Math.max(1, Math.round(rounds / 3))
    const t = await alternate([NODE, {name: 'hcctl list (subscription)', args, env}], listRounds, {warmup})
    const listRequests = (await em.count()) / (listRounds + (warmup ? 1 : 0)) // the warm-up round counts too
    const naive = await perAppBaseline(em, configDir)
    const naiveRequests = await em.count()
    const budget = size.plans + size.namespaces + 5
    const rows = [
      {case: 'hcctl list (subscription)', 'median ms': t['hcctl list (subscription)'].median, 'ARM requests': listRequests, note: `target <= plans + namespaces + 5 = ${budget}`},
      {case: 'one call per app (library, in-process, 8 at a time)', 'median ms': naive.ms, 'ARM requests': naiveRequests, note: `${naive.apps} apps, ${naive.attachments} attachments`},
      {case: 'node -e 0', 'median ms': t[NODE.name].median, 'ARM requests': '', note: ''},
    ]
    report(`subscription scale: ${size.plans} plans, ${size.apps} apps, ${size.namespaces} namespaces, ${size.hcs} hybrid connections (${listRounds} rounds)`, rows, ['case', 'median ms', 'ARM requests', 'note'])
    console.log(`hcctl list makes ${ratio(listRequests, naiveRequests)}x the requests of one call per app; wall ${ratio(t['hcctl list (subscription)'].median, naive.ms)}x (hcctl's includes process start-up and sign-in from the cache)`)
    return {size, times: t, listRequests, perApp: {...naive, requests: naiveRequests}, requestBudget: budget, requestsVsPerApp: ratio(listRequests, naiveRequests)}
  } finally {
    await em.stop()
  }
}

// ---------------------------------------------------------------- tunnels
async function tunnels() {
  const options = quick ? {mib: 1, pings: 20, rounds: 1, setup: 10, idle: 20} : {mib: 16, pings: 500, rounds: 3, setup: 200, idle: 1000}
  const f = await tunnelBench(options)
  printTunnel(f)
  return f
}

const sections = {'start-up': startup, arm, scale, tunnels}
for (const [name, run] of Object.entries(sections)) {
  if (!wanted(name)) continue
  const t0 = Date.now()
  results.sections[name] = await run()
  results.sections[name].seconds = round((Date.now() - t0) / 1000)
}
results.totalSeconds = round((Date.now() - started) / 1000)
mkdirSync(dirname(out), {recursive: true})
writeFileSync(out, JSON.stringify(results, null, 2) + '\n')
console.log(`\n${results.totalSeconds} s in all; figures written to ${out}`)
