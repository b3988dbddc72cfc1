import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {once} from 'node:events'
import {type AddressInfo, connect, createServer, type Server, type Socket} from 'node:net'

import {RUN_JS} from '../../helpers/cli.js'
import {type Emulator, startEmulator} from '../../../src/emulator/index.js'

export const NS = 'e2e-relay'
export const RG = 'e2e-rg'

/** A TCP echo server on 127.0.0.1 (port 0 or the one given). */
export async function startEcho(port = 0): Promise<Server & {port: number; connections: number}> {
  const s = createServer((c) => {
    s.connections++
    c.on('error', () => {})
    c.pipe(c)
  }) as Server & {port: number; connections: number}
  s.connections = 0
  s.listen(port, '127.0.0.1')
  await once(s, 'listening')
  s.port = (s.address() as AddressInfo).port
  return s
}

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

/** The emulator with one namespace and the given hybrid connections (name → endpoint). */
export async function startRelayEmulator(hcs: Record<string, string>): Promise<Emulator> {
  return startEmulator({
    inMemory: true,
    seed: {
      resourceGroups: [{name: RG}],
      namespaces: [{resourceGroup: RG, name: NS, hybridConnections: Object.entries(hcs).map(([name, endpoint]) => ({name, endpoint, defaultRules: true}))}],
    },
  })
}

export function ruleKey(em: Emulator, hc: string, rule: 'defaultListener' | 'defaultSender'): string {
  const ns = em.state.namespace(em.subscriptionId, RG, NS)!
  const h = ns.hybridConnections.find((x) => x.name === hc)!
  return h.rules.find((r) => r.name === rule)!.primaryKey
}

export function connectionString(em: Emulator, hc: string, rule: 'defaultListener' | 'defaultSender'): string {
  return `Endpoint=sb://${NS}${em.relaySuffix}/;SharedAccessKeyName=${rule};SharedAccessKey=${ruleKey(em, hc, rule)};EntityPath=${hc}`
}

/** A long-running hcctl process (agent, forward) with its output lines. */
export interface HcctlProcess {
  child: ChildProcessWithoutNullStreams
  stdout: string[]
  stderr: string[]
  /** Resolves with the `nth` (default first) line of stdout or stderr matching `re`, seen already or to come. */
  waitFor(re: RegExp, timeoutMs?: number, nth?: number): Promise<string>
  count(re: RegExp): number
  /** Resolves when the process prints its next line (or exits). */
  nextLine(): Promise<void>
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  stop(signal?: NodeJS.Signals): Promise<{code: number | null; signal: NodeJS.Signals | null}>
}

export function startHcctl(args: string[], env: NodeJS.ProcessEnv = {}): HcctlProcess {
  const child = spawn(process.execPath, [RUN_JS, ...args], {env: {...cleanEnv(), NO_COLOR: '1', ...env}, stdio: ['pipe', 'pipe', 'pipe']})
  const stdout: string[] = []
  const stderr: string[] = []
  const waiters: Array<() => void> = []
  const collect = (stream: NodeJS.ReadableStream, into: string[]) => {
    let buf = ''
    stream.setEncoding('utf8')
    stream.on('data', (d: string) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) !== -1) {
        into.push(buf.slice(0, i))
        buf = buf.slice(i + 1)
        for (const w of waiters.splice(0)) w()
      }
    })
  }
  collect(child.stdout, stdout)
  collect(child.stderr, stderr)
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.on('exit', (code, signal) => {
    for (const w of waiters.splice(0)) w()
    resolve({code, signal})
  }))
  let done = false
  void exited.then(() => (done = true))
  const p: HcctlProcess = {
    child,
    stdout,
    stderr,
    count(re) {
      return [...stdout, ...stderr].filter((l) => re.test(l)).length
    },
    nextLine() {
      return done ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))
    },
    async waitFor(re, timeoutMs = 15_000, nth = 1) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const hits = [...stdout, ...stderr].filter((l) => re.test(l))
        if (hits.length >= nth) return hits[nth - 1]!
        if (done) throw new Error(`process exited before ${re}:\nstdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`)
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`timed out waiting for ${re}:\nstdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`)
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left)
          waiters.push(() => {
            clearTimeout(t)
            resolve()
          })
        })
      }
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal)
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000)
      const r = await exited
      clearTimeout(t)
      return r
    },
  }
  return p
}

/** Waits until the processes together have printed `total` lines matching `re`. */
export async function waitForTotal(procs: HcctlProcess[], re: RegExp, total: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (procs.reduce((n, p) => n + p.count(re), 0) < total) {
    const left = deadline - Date.now()
    if (left <= 0) throw new Error(`timed out waiting for ${total} lines matching ${re}`)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([...procs.map((p) => p.nextLine()), new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))])
    clearTimeout(timer)
  }
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AZURE_|HCCTL_|NO_COLOR|FORCE_COLOR|HTTPS?_PROXY|https?_proxy|NO_PROXY|no_proxy|NODE_EXTRA_CA_CERTS)/.test(k)) continue
    env[k] = v
  }
  return env
}

/** Starts `hcctl agent` on connection strings and waits until it listens on all of them. */
export async function startAgent(em: Emulator, hcs: string[], extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<HcctlProcess & {healthPort: number}> {
  const args = ['agent', '--cloud', em.profilePath, '--health', '127.0.0.1:0', ...hcs.flatMap((hc) => ['--connection-string', connectionString(em, hc, 'defaultListener')]), ...extra]
  const p = startHcctl(args, env)
  const health = await p.waitFor(/ health .*address=/)
  for (const hc of hcs) await p.waitFor(new RegExp(` listening hc=${NS}/${hc} `))
  return Object.assign(p, {healthPort: Number(/address=[\d.]+:(\d+)/.exec(health)![1])})
}

/** Starts `hcctl forward` and returns the local port from its ready line. */
export async function startForward(em: Emulator, hc: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<HcctlProcess & {port: number}> {
  const p = startHcctl(['forward', '--cloud', em.profilePath, '--connection-string', connectionString(em, hc, 'defaultSender'), '--local', '127.0.0.1:0', ...extra], env)
  const ready = await p.waitFor(/^Forwarding /)
  return Object.assign(p, {port: Number(/^Forwarding [\d.]+:(\d+) /.exec(ready)![1])})
}

export interface Transfer {
  sentSha: string
  receivedSha: string
  bytes: number
}

/**
 * Connects to `port`, sends `size` random bytes in chunks (optionally throttled), reads the echo,
 * and returns both checksums. Rejects if the connection fails or the echo is short.
 */
export async function echoTransfer(port: number, size: number, options: {chunk?: number; delayMs?: number; ready?: (socket: Socket) => Promise<void>} = {}): Promise<Transfer> {
  const socket: Socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  if (options.ready) await options.ready(socket)
  const sent = createHash('sha256')
  const received = createHash('sha256')
  let got = 0
  const readDone = new Promise<void>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      received.update(d)
      got += d.length
      if (got >= size) resolve()
    })
    socket.on('error', reject)
    socket.on('close', () => (got >= size ? resolve() : reject(new Error(`connection closed after ${got} of ${size} bytes`))))
  })
  const chunk = options.chunk ?? 256 * 1024
  const block = randomBytes(Math.min(chunk, size))
  for (let off = 0; off < size; off += chunk) {
    const n = Math.min(chunk, size - off)
    // vary the content per chunk so reordering would show
    const piece = Buffer.from(block.subarray(0, n))
    piece.writeUInt32BE(off >>> 0, 0)
    sent.update(piece)
    if (!socket.write(piece)) await once(socket, 'drain')
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs))
  }
  await readDone
  socket.end()
  return {sentSha: sent.digest('hex'), receivedSha: received.digest('hex'), bytes: got}
}

/** One connection that must fail: resolves when the forwarder closes it (no bytes back). */
export async function failedConnection(port: number): Promise<number> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  let bytes = 0
  socket.on('data', (d: Buffer) => (bytes += d.length))
  await once(socket, 'close')
  return bytes
}

export function parseJsonLines(lines: string[]): Array<Record<string, unknown>> {
  return lines.flatMap((l) => {
    try {
      const v = JSON.parse(l)
      return v && typeof v === 'object' ? [v as Record<string, unknown>] : []
    } catch {
      return []
    }
  })
}

/**
 * A barrier for concurrent transfers: each connection first proves its tunnel is up (one byte
 * echoed), then waits until all `n` are up, so the transfers really run concurrently and the
 * set-up of late tunnels does not compete with the data of early ones.
 */
export function allUp(n: number): (socket: Socket) => Promise<void> {
  let up = 0
  let release!: () => void
  const all = new Promise<void>((r) => (release = r))
  return async (socket) => {
    socket.write(Buffer.from([0x2a]))
    await once(socket, 'data')
    if (++up === n) release()
    await all
  }
}
