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
// then the relay's ratios to the tcp chain. Targets: throughput ≥ 0.5×, p50 ≤ 2×.
//
// Options (env): BENCH_MIB (default 64), BENCH_PINGS (default 2000), BENCH_ROUNDS (default 3; the best round counts).
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {once} from 'node:events'
import {connect, createServer} from 'node:net'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUN = `${ROOT}bin/run.js`
const MIB = Number(process.env.BENCH_MIB ?? 64)
const PINGS = Number(process.env.BENCH_PINGS ?? 2000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

const {startEmulator} = await import(`${ROOT}dist/emulator/index.js`)

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
  if (process.env.BENCH_CPU) globalThis.__pids = [...(globalThis.__pids ?? []), p.pid]
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

function cpuNow() {
  if (!process.env.BENCH_CPU) return []
  const read = (pid) => { try { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100 } catch { return 0 } }
  return [process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6, ...(globalThis.__pids ?? []).map(read)]
}

async function measure(name, port) {
  const c0 = cpuNow()
  let best = {mibps: 0, p50: Infinity, p99: Infinity}
  for (let r = 0; r < ROUNDS; r++) {
    const mibps = await throughput(port)
    const {p50, p99} = await latency(port)
    best = {mibps: Math.max(best.mibps, mibps), p50: Math.min(best.p50, p50), p99: Math.min(best.p99, p99)}
  }
  const c1 = cpuNow()
  if (process.env.BENCH_CPU) console.log(name, 'cpu s per process (self, children...):', c1.map((v, i) => (v - c0[i]).toFixed(2)).join(' '))
  return {name, ...best}
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

async function main() {
  const echo = echoServer()
  const echoPort = await listen(echo)

  // Where the middle hop runs: in a process of its own (default, as a relay is a remote service),
  // or in this process next to the client and the echo server (BENCH_LAYOUT=inproc).
  const inproc = process.env.BENCH_LAYOUT === 'inproc'

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

  // tls chain: pipe →TLS→ pipe →TLS→ pipe → echo (self-signed for localhost; the pipes trust it)
  const {createCertificateAuthority, createServerCertificate} = await import(`${ROOT}dist/emulator/certs.js`)
  const ca = await createCertificateAuthority('hcctl bench CA')
  const server = await createServerCertificate(ca, {dnsNames: ['localhost']})
  const tlsEnv = {BENCH_KEY: server.key, BENCH_CERT: server.cert, BENCH_CA: ca.cert}
  const t3 = await childPipe(echoPort, 'tls', 'tcp', tlsEnv)
  const t2 = await childPipe(t3, 'tls', 'tls', tlsEnv)
  const t1 = await childPipe(t2, 'tcp', 'tls', tlsEnv)

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
  const cs = (rule) => `Endpoint=sb://bench-relay${relaySuffix}/;SharedAccessKeyName=${rule};SharedAccessKey=${keys.find((r) => r.name === rule).primaryKey};EntityPath=echo`
  const agent = child([RUN, 'agent', '--cloud', profilePath, '--connection-string', cs('defaultListener')])
  await firstLine(agent, / listening hc=/)
  const fwd = child([RUN, 'forward', '--cloud', profilePath, '--connection-string', cs('defaultSender'), '--local', '127.0.0.1:0'])
  const fwdPort = Number((await firstLine(fwd, /Forwarding [\d.]+:(\d+)/))[1])

  const results = []
  results.push(await measure('direct', echoPort))
  results.push(await measure('tcp chain (3 pipes)', p1))
  results.push(await measure('tls chain (3 pipes, TLS between)', t1))
  results.push(await measure('relay (forward→emulator→agent)', fwdPort))

  const pad = (s, n) => String(s).padEnd(n)
  console.log(`\nTunnel benchmark: ${MIB} MiB echoed per round, ${PINGS} pings, best of ${ROUNDS} rounds, middle hop ${process.env.BENCH_LAYOUT === 'inproc' ? 'in the benchmark process' : 'in its own process'}, Node ${process.version}\n`)
  console.log(`${pad('path', 34)}${pad('MiB/s', 10)}${pad('p50 ms', 10)}p99 ms`)
  for (const r of results) console.log(`${pad(r.name, 34)}${pad(r.mibps.toFixed(1), 10)}${pad(r.p50.toFixed(3), 10)}${r.p99.toFixed(3)}`)
  const [direct, tcp, tlsChain, relay] = results
  const tRatio = relay.mibps / tcp.mibps
  const lRatio = relay.p50 / tcp.p50
  console.log(`\nrelay / tcp chain: throughput ${tRatio.toFixed(2)}x (target ≥ 0.5x) ${tRatio >= 0.5 ? 'OK' : 'MISSED'}; p50 ${lRatio.toFixed(2)}x (target ≤ 2x) ${lRatio <= 2 ? 'OK' : 'MISSED'}; p99 ${(relay.p99 / tcp.p99).toFixed(2)}x`)
  console.log(`relay / direct:    throughput ${(relay.mibps / direct.mibps).toFixed(2)}x; p50 ${(relay.p50 / direct.p50).toFixed(2)}x`)
  console.log(`relay / tls chain: throughput ${(relay.mibps / tlsChain.mibps).toFixed(2)}x; p50 ${(relay.p50 / tlsChain.p50).toFixed(2)}x (what the relay costs beyond TLS itself)`)
  console.log(`tls chain / tcp:   throughput ${(tlsChain.mibps / tcp.mibps).toFixed(2)}x (what TLS alone leaves of the TCP chain on this machine)`)

  for (const c of children) c.kill('SIGTERM')
  await em?.stop()
  echo.close()
  mid?.close()
}

try {
  await main()
} catch (error) {
  for (const c of children) c.kill('SIGKILL')
  console.error(error)
  process.exitCode = 1
}
