import {strict as assert} from 'node:assert'
import {fork, type ChildProcess} from 'node:child_process'
import type {IncomingMessage} from 'node:http'
import {createHash, randomBytes} from 'node:crypto'
import {request as httpsRequest} from 'node:https'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {KEYS, startRelay, type Harness} from './harness.js'

/**
 * Microsoft's own Node packages as real peers (relay-protocol.md §6). They cannot be given a CA
 * in-process (hyco-ws uses ws 1.x over the global https agent), so each runs in a child process
 * with NODE_EXTRA_CA_CERTS pointing at the test CA, and reports over IPC.
 */

const PEERS = join(dirname(fileURLToPath(import.meta.url)), 'peers')

interface PeerEvent {
  event: string
  [k: string]: unknown
}

class Peer {
  readonly child: ChildProcess
  private readonly events: PeerEvent[] = []
  private readonly waiters: {event: string; resolve: (e: PeerEvent) => void}[] = []
  readonly errors: string[] = []

  constructor(script: string, config: Record<string, unknown>, caFile: string) {
    this.child = fork(join(PEERS, script), [], {
      execArgv: [],
      env: {...process.env, NODE_EXTRA_CA_CERTS: caFile, HYCO_PEER: JSON.stringify(config), NODE_OPTIONS: ''},
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    let stderr = ''
    this.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    this.child.on('exit', (code) => {
      if (code) this.errors.push(`exit ${code}: ${stderr.slice(0, 500)}`)
    })
    this.child.on('message', (m: PeerEvent) => {
      if (m.event === 'error') this.errors.push(String(m.message))
      const i = this.waiters.findIndex((w) => w.event === m.event)
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m)
      else this.events.push(m)
    })
  }

  next(event: string, timeoutMs = 10_000): Promise<PeerEvent> {
    const i = this.events.findIndex((e) => e.event === event)
    if (i >= 0) return Promise.resolve(this.events.splice(i, 1)[0]!)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${event}" from the peer; errors: ${this.errors.join('; ')}`)), timeoutMs)
      this.waiters.push({
        event,
        resolve: (e) => {
          clearTimeout(timer)
          resolve(e)
        },
      })
    })
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect()
    this.child.kill()
  }
}

function listenerConfig(h: Harness, hc: string) {
  return {
    listenUri: `wss://127.0.0.1:${h.port}/$hc/${hc}?sb-hc-action=listen`,
    tokenUri: `wss://127.0.0.1:${h.port}/$hc/${hc}`,
    keyName: 'defaultListener',
    key: KEYS.listen,
  }
}

function httpsSend(h: Harness, path: string, options: {method?: string; body?: Buffer; token: string}) {
  return new Promise<{status: number; headers: Record<string, string | string[] | undefined>; body: Buffer}>((resolve, reject) => {
    const req = httpsRequest(
      h.https(path),
      {method: options.method ?? 'GET', ca: h.ca, headers: {ServiceBusAuthorization: options.token}},
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks)}))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

describe('relay broker: Microsoft hyco-ws and hyco-https as peers', function () {
  this.timeout(30_000)
  let h: Harness
  const peers: Peer[] = []
  beforeEach(async () => {
    h = await startRelay()
  })
  afterEach(async () => {
    for (const p of peers.splice(0)) p.stop()
    await h.close()
  })

  it('a hyco-ws listener and a hyco-ws sender echo text and binary messages', async () => {
    const acceptHeaders: string[][] = []
    h.server.prependListener('upgrade', (req: IncomingMessage) => {
      if (/sb-hc-action=accept/.test(req.url ?? '')) acceptHeaders.push(req.rawHeaders)
    })
    const listener = new Peer('hyco-ws-listener.cjs', listenerConfig(h, 'hc1'), h.caFile)
    peers.push(listener)
    await listener.next('listening')
    assert.equal(h.broker.listenerCount('contoso', 'hc1'), 1)
    const sender = new Peer(
      'hyco-ws-sender.cjs',
      {address: `wss://127.0.0.1:${h.port}/$hc/hc1?sb-hc-action=connect`, tokenUri: `wss://127.0.0.1:${h.port}/$hc/hc1`, keyName: 'defaultSender', key: KEYS.send},
      h.caFile,
    )
    peers.push(sender)
    const echo = await sender.next('echo')
    assert.deepEqual(echo.got, [
      {binary: false, base64: Buffer.from('hello from hyco-ws').toString('base64')},
      {binary: true, base64: Buffer.from([0, 1, 2, 250, 255]).toString('base64')},
    ])
    await listener.next('connection')
    assert.equal((await sender.next('close')).code, 1000)
    // hyco-ws' rendezvous quirk (relay-protocol §2.4): a literal `0: Sec-WebSocket-Extensions: …` header line
    assert.equal(acceptHeaders.length, 1)
    assert.ok(acceptHeaders[0]!.includes('0'), `rendezvous headers: ${acceptHeaders[0]!.filter((_, i) => i % 2 === 0).join(', ')}`)
    assert.deepEqual(listener.errors, [])
  })

  it('a hyco-https listener answers small and 100 KB requests and responses', async () => {
    const listener = new Peer('hyco-https-listener.cjs', listenerConfig(h, 'hc1'), h.caFile)
    peers.push(listener)
    await listener.next('listening')
    const token = h.token('hc1', 'defaultSender')

    const small = await httpsSend(h, 'hc1/small?x=1', {token})
    assert.equal(small.status, 200)
    assert.equal(small.body.toString(), 'hello GET /hc1/small?x=1')
    assert.equal(small.headers.via, '1.1 contoso.servicebus.localhost')

    const smallPost = await httpsSend(h, 'hc1/small', {method: 'POST', body: Buffer.from('tiny'), token})
    assert.equal(smallPost.headers['x-request-sha256'], createHash('sha256').update('tiny').digest('hex'))

    const upload = randomBytes(100 * 1024)
    const bigBoth = await httpsSend(h, 'hc1/big', {method: 'POST', body: upload, token})
    assert.equal(bigBoth.status, 200)
    assert.equal(bigBoth.headers['x-request-length'], String(upload.length))
    assert.equal(bigBoth.headers['x-request-sha256'], createHash('sha256').update(upload).digest('hex'))
    const expected = Buffer.alloc(100 * 1024)
    for (let i = 0; i < expected.length; i++) expected[i] = i % 251
    assert.ok(bigBoth.body.equals(expected), `100 KB response body (got ${bigBoth.body.length} bytes)`)

    const bigResponse = await httpsSend(h, 'hc1/big', {token})
    assert.ok(bigResponse.body.equals(expected))
    assert.deepEqual(listener.errors, [])
  })
})
