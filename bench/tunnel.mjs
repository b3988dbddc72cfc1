#!/usr/bin/env node
/* global performance, Buffer */
// Tunnel benchmark (run on the built dist: `npm run build && node bench/tunnel.mjs`).
//
// Four paths to the same TCP echo server, measured side by side in one run:
//   direct   client → echo
//   tcp      client → pipe → pipe → pipe → echo   (a plain Node `net` pipe per hop, each in its own process)
//   tls      client → pipe → TLS → pipe → TLS → pipe → echo   (the same chain with TLS between the pipes, as
//            the relay has: a reference for what TLS alone costs in Node, not a target)
//   relay    client → hcctl forward → emulator relay → hcctl agent → echo   (forward, agent and
//            `hcctl emulator start` are real `bin/run.js` processes)
// BENCH_LAYOUT=inproc runs the middle hop (tcp pipe / emulator) inside the benchmark process instead
// (the tls chain always runs in child processes).
// The relay path has the same hops as the tcp chain and the same process layout, plus TLS,
// WebSocket framing and the rendezvous. Printed: throughput (MiB/s of echoed payload, both
// directions at once, one connection), and 1-byte round trips (p50/p99 over sequential pings),
// then the relay's ratios to the tcp chain. Targets: throughput ≥ 0.6×, p50 ≤ 1.5× (medians).
// Rounds alternate between the paths. Then connection setup (new tunnels per second with 50 in
// flight, p50/p99 of connect → first echoed byte, relay vs tcp chain) and the agent's footprint
// (RSS with 1,000 idle tunnels, target ≤ 150 MiB; CPU seconds per GiB it moved; Linux /proc).
// `npm run bench` runs this as one of its sections (tunnelBench); alone:
//
// Options (env): BENCH_MIB (default 64), BENCH_PINGS (default 2000), BENCH_ROUNDS (default 3; the median round counts),
// BENCH_SETUP (tunnels opened for the setup rate, default 500), BENCH_IDLE (idle tunnels, default 1000).
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {once} from 'node:events'
import {connect, createServer} from 'node:net'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUN = `${ROOT}bin/run.js`
let MIB = 64
let PINGS = 2000
let ROUNDS = 3
const IN_FLIGHT = 50

async function listen(server) {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server.address().port
}

function echoServer() {
  return createServer((c) => {
    c.setNoDelay(true)
    c.on('error', () => {})
    c.pipe(c)
  })
}

// One hop: accepts plain TCP or TLS (in), dials plain TCP or TLS (out); key, cert and CA in env.
// The TLS legs verify the certificate, as the relay's clients do.
const PIPE_SRC = `
const net = require('net'), tls = require('tls')
const [target, inKind = 'tcp', outKind = 'tcp'] = process.argv.slice(1)
const {BENCH_KEY: key, BENCH_CERT: cert, BENCH_CA: ca} = process.env
const onConn = (c) => {
  const u = outKind === 'tls' ? tls.connect({port: Number(target), host: '127.0.0.1', servername: 'localhost', ca}) : net.connect(Number(target), '127.0.0.1')
  c.setNoDelay(true); u.setNoDelay(true)
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy())
  c.pipe(u); u.pipe(c)
}
const s = inKind === 'tls' ? tls.createServer({key, cert}, onConn) : net.createServer(onConn)
s.listen(0, '127.0.0.1', () => console.log(s.address().port))
`

function inProcessPipe(target) {
  return createServer((c) => {
    const u = connect(target, '127.0.0.1')
    c.setNoDelay(true)
    u.setNoDelay(true)
    c.on('error', () => u.destroy())
    u.on('error', () => c.destroy())
    c.pipe(u)
    u.pipe(c)
  })
}

const children = []
function child(args, env = {}) {
  const p = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), ...args], {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  children.push(p)
  return p
}

async function firstLine(p, re) {
  let buf = ''
  for (;;) {
    const [d] = await Promise.race([once(p.stdout, 'data'), once(p.stderr, 'data'), once(p, 'exit').then(() => { throw new Error(`exited: ${buf}`) })])
    buf += d.toString()
    const m = re.exec(buf)
    if (m) return m
  }
}

async function childPipe(target, inKind = 'tcp', outKind = 'tcp', env = {}) {
  const p = child(['-e', PIPE_SRC, String(target), inKind, outKind], env)
  const m = await firstLine(p, /(\d+)\n/)
  return Number(m[1])
}

/** One connection: send MIB MiB while reading the echo; MiB/s of payload. */
async function throughput(port) {
  const s = connect(port, '127.0.0.1')
  s.setNoDelay(true)
  await once(s, 'connect')
  const total = MIB * 1024 * 1024
  const block = randomBytes(256 * 1024)
  let got = 0
  const t0 = performance.now()
  const done = new Promise((resolve, reject) => {
    s.on('data', (d) => {
      got += d.length
      if (got >= total) resolve()
    })
    s.on('error', reject)
  })
  for (let sent = 0; sent < total; sent += block.length) {
    if (!s.write(block)) await once(s, 'drain')
  }
  await done
  const seconds = (performance.now() - t0) / 1000
  s.destroy()
  return MIB / seconds
}

/** Sequential 1-byte round trips on one connection; p50/p99 in ms. */
async function latency(port) {
  const s = connect(port, '127.0.0.1')
  s.setNoDelay(true)
  await once(s, 'connect')
  const one = Buffer.from([7])
  const times = []
  for (let i = 0; i < PINGS + 50; i++) {
    const t0 = performance.now()
    s.write(one)
    await once(s, 'data')
    if (i >= 50) times.push(performance.now() - t0) // warm-up excluded
  }
  s.destroy()
  times.sort((a, b) => a - b)
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))]
  return {p50: q(0.5), p99: q(0.99)}
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return undefined
  }
}

/** Resident set size of a process in MiB, from /proc (Linux); undefined elsewhere. */
function rssMiB(pid) {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]
    return Number(kb) / 1024
  } catch {
    return undefined
  }
}

const med = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]

/** Throughput and round trips of every path, rounds alternating between the paths; medians. */
async function measureAll(paths, onRound) {
  const runs = new Map(paths.map((p) => [p.name, []]))
  for (let r = 0; r < ROUNDS; r++) {
    for (const p of paths) {
      const before = onRound?.before(p)
      const mibps = await throughput(p.port)
      onRound?.after(p, before)
      runs.get(p.name).push({mibps, ...(await latency(p.port))})
    }
  }
  return paths.map((p) => {
    const list = runs.get(p.name)
    return {name: p.name, mibps: med(list.map((x) => x.mibps)), p50: med(list.map((x) => x.p50)), p99: med(list.map((x) => x.p99))}
  })
}

/** One new tunnel: connect, send a byte, wait for its echo; ms. */
async function oneTunnel(port) {
  const t0 = performance.now()
  const s = connect(port, '127.0.0.1')
  s.setNoDelay(true)
  s.on('error', () => {})
  await once(s, 'connect')
  s.write(Buffer.from([1]))
  await once(s, 'data')
  const ms = performance.now() - t0
  s.destroy()
  return ms
}

/** New tunnels per second with `inFlight` opening at once, and p50/p99 of each one's setup. */
async function setupRate(port, total, inFlight) {
  const times = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({length: Math.min(inFlight, total)}, async () => {
      while (next < total) {
        next++
        times.push(await oneTunnel(port))
      }
    }),
  )
  const seconds = (performance.now() - t0) / 1000
  times.sort((a, b) => a - b)
  return {perSecond: total / seconds, p50: times[Math.floor(times.length / 2)], p99: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]}
}

/** Opens `count` tunnels (50 at a time), each proven with one echoed byte, and keeps them open. */
async function openIdle(port, count) {
  const sockets = []
  for (let i = 0; i < count; i += IN_FLIGHT) {
    await Promise.all(
      Array.from({length: Math.min(IN_FLIGHT, count - i)}, async () => {
        const s = connect(port, '127.0.0.1')
        s.on('error', () => {})
        sockets.push(s)
        await once(s, 'connect')
        s.write(Buffer.from([1]))
        await once(s, 'data')
      }),
    )
  }
  return sockets
}

/** The defaultListener/defaultSender rules of the one hybrid connection in the emulator's state.json. */
function findRules(state) {
  const found = []
  const walk = (v) => {
    if (Array.isArray(v)) return v.forEach(walk)
    if (v && typeof v === 'object') {
      if (Array.isArray(v.rules) && v.name === 'echo') found.push(...v.rules)
      Object.values(v).forEach(walk)
    }
  }
  walk(state)
  return found
}

/**
 * The tunnel benchmark; returns its figures. Options: mib, pings, rounds, setup (tunnels for the
 * setup rate), idle (idle tunnels for the footprint), layout ('inproc' or 'process').
 */
export async function tunnelBench(options = {}) {
  MIB = options.mib ?? MIB
  PINGS = options.pings ?? PINGS
  ROUNDS = options.rounds ?? ROUNDS
  const setupCount = options.setup ?? 500
  const idleCount = options.idle ?? 1000
  const {startEmulator} = await import(`${ROOT}dist/emulator/index.js`)

  const echo = echoServer()
  const echoPort = await listen(echo)

  // Where the middle hop runs: in a process of its own (default, as a relay is a remote service),
  // or in this process next to the client and the echo server (BENCH_LAYOUT=inproc).
  const inproc = (options.layout ?? process.env.BENCH_LAYOUT) === 'inproc'

  // tcp chain: pipe → pipe → pipe → echo
  const p3 = await childPipe(echoPort)
  let mid
  let p2
  if (inproc) {
    mid = inProcessPipe(p3)
    p2 = await listen(mid)
  } else {
    p2 = await childPipe(p3)
  }
  const p1 = await childPipe(p2)

  // relay: forward → emulator → agent → echo
  const seed = {resourceGroups: [{name: 'bench'}], namespaces: [{resourceGroup: 'bench', name: 'bench-relay', hybridConnections: [{name: 'echo', endpoint: `127.0.0.1:${echoPort}`, defaultRules: true}]}]}
  let em
  let profilePath
  let keys
  let relaySuffix
  if (inproc) {
    em = await startEmulator({inMemory: true, seed})
    profilePath = em.profilePath
    relaySuffix = em.relaySuffix
    keys = em.state.namespace(em.subscriptionId, 'bench', 'bench-relay').hybridConnections[0].rules
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'hcctl-bench-'))
    writeFileSync(join(dir, 'seed.json'), JSON.stringify(seed))
    const emu = child([RUN, 'emulator', 'start', '--state', dir, '--seed', join(dir, 'seed.json'), '--port', '0'])
    await firstLine(emu, /\n/)
    profilePath = join(dir, 'profile.json')
    relaySuffix = JSON.parse(readFileSync(profilePath, 'utf8')).relaySuffix
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'))
    keys = findRules(state)
  }
  // tls chain: pipe →TLS→ pipe →TLS→ pipe → echo, with the emulator's CA and server certificate
  // (for localhost), which the pipes verify
  const stateDir = inproc ? em.stateDir : dirname(profilePath)
  const pem = (name) => readFileSync(join(stateDir, name), 'utf8')
  const tlsEnv = {BENCH_KEY: pem('server-key.pem'), BENCH_CERT: pem('server.pem'), BENCH_CA: pem('ca.pem')}
  const t3 = await childPipe(echoPort, 'tls', 'tcp', tlsEnv)
  const t2 = await childPipe(t3, 'tls', 'tls', tlsEnv)
  const t1 = await childPipe(t2, 'tcp', 'tls', tlsEnv)

  const cs = (rule) => `Endpoint=sb://bench-relay${relaySuffix}/;SharedAccessKeyName=${rule};SharedAccessKey=${keys.find((r) => r.name === rule).primaryKey};EntityPath=echo`
  const agent = child([RUN, 'agent', '--cloud', profilePath, '--connection-string', cs('defaultListener')])
  await firstLine(agent, / listening hc=/)
  const fwd = child([RUN, 'forward', '--cloud', profilePath, '--connection-string', cs('defaultSender'), '--local', '127.0.0.1:0'])
  const fwdPort = Number((await firstLine(fwd, /Forwarding [\d.]+:(\d+)/))[1])

  const agentCpu = {seconds: 0, mib: 0}
  const results = await measureAll(
    [
      {name: 'direct', port: echoPort},
      {name: 'tcp chain (3 pipes)', port: p1},
      {name: 'tls chain (3 pipes, TLS between)', port: t1},
      {name: 'relay (forward→emulator→agent)', port: fwdPort, agent: true},
    ],
    {
      before: (p) => (p.agent ? cpuSeconds(agent.pid) : undefined),
      after: (p, before) => {
        const now = p.agent ? cpuSeconds(agent.pid) : undefined
        if (before === undefined || now === undefined) return
        agentCpu.seconds += now - before
        agentCpu.mib += 2 * MIB // the agent carries the payload both ways
      },
    },
  )
  const setupTcp = await setupRate(p1, setupCount, IN_FLIGHT)
  const setupRelay = await setupRate(fwdPort, setupCount, IN_FLIGHT)
  const rssIdle0 = rssMiB(agent.pid)
  const idle = await openIdle(fwdPort, idleCount)
  const rssIdle = rssMiB(agent.pid)
  for (const s of idle) s.destroy()

  const [direct, tcp, tlsChain, relay] = results
  const figures = {
    settings: {mib: MIB, pings: PINGS, rounds: ROUNDS, layout: inproc ? 'inproc' : 'process', setupTunnels: setupCount, inFlight: IN_FLIGHT, idleTunnels: idleCount},
    paths: results,
    ratios: {
      throughputVsTcp: relay.mibps / tcp.mibps,
      p50VsTcp: relay.p50 / tcp.p50,
      p99VsTcp: relay.p99 / tcp.p99,
      throughputVsTls: relay.mibps / tlsChain.mibps,
      p50VsTls: relay.p50 / tlsChain.p50,
      throughputVsDirect: relay.mibps / direct.mibps,
    },
    setup: {tcp: setupTcp, relay: setupRelay, perSecondVsTcp: setupRelay.perSecond / setupTcp.perSecond},
    agent: {
      rssMiBNoTunnels: rssIdle0,
      rssMiBIdleTunnels: rssIdle,
      cpuSecondsPerGiB: agentCpu.mib > 0 ? agentCpu.seconds / (agentCpu.mib / 1024) : undefined,
    },
  }

  for (const c of children) c.kill('SIGTERM')
  await em?.stop()
  echo.close()
  mid?.close()
  return figures
}

function print(f) {
  const pad = (s, n) => String(s).padEnd(n)
  const x = (v) => (v === undefined ? 'n/a' : `${v.toFixed(2)}x`)
  console.log(`\nTunnel benchmark: ${f.settings.mib} MiB echoed per round, ${f.settings.pings} pings, median of ${f.settings.rounds} alternating rounds, middle hop ${f.settings.layout === 'inproc' ? 'in the benchmark process' : 'in its own process'}, Node ${process.version}\n`)
  console.log(`${pad('path', 34)}${pad('MiB/s', 10)}${pad('p50 ms', 10)}p99 ms`)
  for (const r of f.paths) console.log(`${pad(r.name, 34)}${pad(r.mibps.toFixed(1), 10)}${pad(r.p50.toFixed(3), 10)}${r.p99.toFixed(3)}`)
  const q = f.ratios
  console.log(`\nrelay / tcp chain: throughput ${x(q.throughputVsTcp)} (target ≥ 0.6x) ${q.throughputVsTcp >= 0.6 ? 'OK' : 'MISSED'}; p50 ${x(q.p50VsTcp)} (target ≤ 1.5x) ${q.p50VsTcp <= 1.5 ? 'OK' : 'MISSED'}; p99 ${x(q.p99VsTcp)}`)
  console.log(`relay / direct:    throughput ${x(q.throughputVsDirect)}`)
  console.log(`relay / tls chain: throughput ${x(q.throughputVsTls)}; p50 ${x(q.p50VsTls)} (what the relay costs beyond TLS itself)`)
  const s = f.setup
  console.log(`\nnew tunnels, ${f.settings.inFlight} in flight: relay ${s.relay.perSecond.toFixed(0)}/s (p50 ${s.relay.p50.toFixed(1)} ms, p99 ${s.relay.p99.toFixed(1)} ms) vs tcp chain ${s.tcp.perSecond.toFixed(0)}/s (p50 ${s.tcp.p50.toFixed(1)} ms, p99 ${s.tcp.p99.toFixed(1)} ms): ${x(s.perSecondVsTcp)}`)
  const a = f.agent
  const mib = (v) => (v === undefined ? 'n/a (no /proc)' : `${v.toFixed(0)} MiB`)
  console.log(`agent RSS: ${mib(a.rssMiBNoTunnels)} before, ${mib(a.rssMiBIdleTunnels)} with ${f.settings.idleTunnels} idle tunnels (target ≤ 150 MiB)${a.rssMiBIdleTunnels === undefined ? '' : a.rssMiBIdleTunnels <= 150 ? ' OK' : ' MISSED'}; agent CPU ${a.cpuSecondsPerGiB === undefined ? 'n/a' : `${a.cpuSecondsPerGiB.toFixed(2)} s`} per GiB moved`)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const env = process.env
    const num = (v) => (v === undefined ? undefined : Number(v))
    print(await tunnelBench({mib: num(env.BENCH_MIB), pings: num(env.BENCH_PINGS), rounds: num(env.BENCH_ROUNDS), setup: num(env.BENCH_SETUP), idle: num(env.BENCH_IDLE)}))
  } catch (error) {
    for (const c of children) c.kill('SIGKILL')
    console.error(error)
    process.exitCode = 1
  }
}

export {print as printTunnel, children as tunnelChildren}
