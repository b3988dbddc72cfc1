import {strict as assert} from 'node:assert'
import {randomBytes} from 'node:crypto'
import {EventEmitter, once} from 'node:events'
import {request} from 'node:http'
import {type AddressInfo, connect, createServer, type Server, type Socket} from 'node:net'

import {Agent} from '../../../src/lib/relay/agent.js'
import {credentialsFromKey} from '../../../src/lib/relay/credentials.js'
import {Forwarder} from '../../../src/lib/relay/forward.js'
import type {RelayLogRecord} from '../../../src/lib/relay/log.js'
import {readEndpoint} from '../../../src/lib/relay/management.js'
import {type FakeRelay, startFakeRelay} from './fake-relay.js'

const KEY = 'a2V5LWZvci10ZXN0cy1vbmx5LWRvLW5vdC1sb2c='

async function echoServer(): Promise<Server & {port: number}> {
  const s = createServer((c) => {
    c.on('error', () => {})
    c.pipe(c)
  })
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  return Object.assign(s, {port: (s.address() as AddressInfo).port})
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

function get(port: number, path: string): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    request({host: '127.0.0.1', port, path}, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
    })
      .on('error', reject)
      .end()
  })
}

async function roundTrip(port: number, payload: Buffer): Promise<Buffer> {
  const c: Socket = connect(port, '127.0.0.1')
  await once(c, 'connect')
  const chunks: Buffer[] = []
  let n = 0
  const done = new Promise<void>((resolve, reject) => {
    c.on('data', (d: Buffer) => {
      chunks.push(d)
      n += d.length
      if (n >= payload.length) resolve()
    })
    c.on('error', reject)
    c.on('close', () => resolve())
  })
  c.write(payload)
  await done
  c.end()
  return Buffer.concat(chunks)
}

describe('agent and forwarder (in process, fake relay)', () => {
  let relay: FakeRelay
  let echo: Server & {port: number}
  const cleanup: Array<() => Promise<unknown>> = []
  beforeEach(async () => {
    relay = await startFakeRelay()
    echo = await echoServer()
    // The hybrid connection exists (the management GET finds it); tests that need it missing unset it.
    relay.userMetadata = `[{"key":"endpoint","value":"127.0.0.1:${echo.port}"}]`
  })
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c()
    echo.close()
    await relay.close()
  })

  const creds = (keyName: string) => credentialsFromKey({host: relay.host, entity: 'hc1', keyName, key: KEY})

  async function startAgent(endpointPort: number, extra: Partial<ConstructorParameters<typeof Agent>[0]> = {}) {
    const logs = logBook()
    const agent = new Agent({
      hybridConnections: [{credentials: creds('defaultListener'), endpoint: {host: '127.0.0.1', port: endpointPort}}],
      transport: relay.transport,
      log: logs.log,
      hostname: 'agent-host-1',
      drainTimeoutMs: 2000,
      health: {host: '127.0.0.1', port: 0},
      listener: {backoffMinMs: 20},
      ...extra,
    })
    await agent.start()
    cleanup.push(() => agent.stop())
    return {agent, logs}
  }

  async function startForward() {
    const logs = logBook()
    const f = new Forwarder({credentials: creds('defaultSender'), transport: relay.transport, local: {host: '127.0.0.1', port: 0}, log: logs.log, connectTimeoutMs: 5000})
    const ready = await f.start()
    cleanup.push(() => f.stop())
    return {f, ready, logs}
  }

  it('forward → relay → agent → echo carries bytes intact, logs one line per connection, serves health and metrics', async () => {
    const {agent, logs} = await startAgent(echo.port)
    const {ready, logs: flogs} = await startForward()
    const payload = randomBytes(2 * 1024 * 1024)
    const back = await roundTrip(ready.port, payload)
    assert.ok(back.equals(payload))
    // the connection line comes when the tunnel closes
    const line = await logs.first((l) => l.event === 'connection')
    assert.equal(line.result, 'ok')
    assert.equal(line.bytesToEndpoint, payload.length)
    assert.equal(line.bytesFromEndpoint, payload.length)
    assert.equal(line.endpoint, `127.0.0.1:${echo.port}`)
    assert.ok(typeof line.durationMs === 'number')
    assert.equal((await flogs.first((l) => l.event === 'connection')).result, 'ok')

    const port = agent.healthAddress()!.port
    const h = await get(port, '/healthz')
    assert.equal(h.status, 200)
    const health = JSON.parse(h.body)
    assert.equal(health.status, 'ok')
    assert.equal(health.hybridConnections[0].listening, true)
    const m = await get(port, '/metrics')
    assert.match(m.body, /hcctl_agent_accepts_total\{hc="ns\/hc1"\} 1/)
    assert.match(m.body, new RegExp(`hcctl_agent_bytes_total\\{hc="ns/hc1",direction="to_endpoint"\\} ${payload.length}`))
    assert.match(m.body, /hcctl_agent_listening\{hc="ns\/hc1"\} 1/)
    assert.equal((await get(port, '/nope')).status, 404)
  })

  it('endpoint down: the sender gets 502 with the agent\'s reason; the agent keeps serving', async () => {
    const dead = await freePort()
    const {agent, logs} = await startAgent(dead)
    const {ready, logs: flogs} = await startForward()
    const c = connect(ready.port, '127.0.0.1')
    c.on('error', () => {})
    await once(c, 'close')
    const fl = await flogs.first((l) => l.event === 'connection')
    assert.equal(fl.result, 'failed')
    assert.equal(fl.status, 502)
    assert.equal(fl.reason, `connect ECONNREFUSED 127.0.0.1:${dead} from agent on host agent-host-1`)
    const al = logs.find((l) => l.event === 'connection')!
    assert.equal(al.result, 'rejected')
    assert.equal(agent.health().hybridConnections[0]!.listening, true)
    assert.match(agent.metrics(), /hcctl_agent_rejects_total\{hc="ns\/hc1"\} 1/)
  })

  it('drains on stop: open tunnels finish, new senders are refused', async () => {
    const {agent, logs} = await startAgent(echo.port, {drainTimeoutMs: 5000})
    const {ready} = await startForward()
    const c = connect(ready.port, '127.0.0.1')
    await once(c, 'connect')
    c.write('ping')
    await once(c, 'data')
    const stopping = agent.stop()
    // the tunnel still works while draining
    await logs.first((l) => l.event === 'draining')
    c.write('more')
    const [d] = (await once(c, 'data')) as [Buffer]
    assert.equal(d.toString(), 'more')
    c.end()
    const summary = await stopping
    assert.equal(summary.cutTunnels, 0)
    assert.equal(summary.hybridConnections[0]!.accepts, 1)
    assert.equal(relay.listeners.length, 0, 'control channel closed')
  })

  it('drain timeout cuts tunnels that do not finish', async () => {
    const {agent} = await startAgent(echo.port, {drainTimeoutMs: 200})
    const {ready} = await startForward()
    const c = connect(ready.port, '127.0.0.1')
    c.on('error', () => {})
    await once(c, 'connect')
    c.write('x')
    await once(c, 'data')
    const summary = await agent.stop()
    assert.equal(summary.cutTunnels, 1)
    assert.ok(summary.drainMs >= 190)
  })

  it('reads the endpoint with the management GET (Authorization SAS, X-PROCESS-AT)', async () => {
    relay.userMetadata = `[{"key":"endpoint","value":"127.0.0.1:${echo.port}"}]`
    assert.deepEqual(await readEndpoint(creds('defaultListener'), relay.transport), {host: '127.0.0.1', port: echo.port})
    assert.match(relay.managementAuth[0]!, /^SharedAccessSignature sr=/)
    relay.userMetadata = undefined
    await assert.rejects(readEndpoint(creds('defaultListener'), relay.transport), (e: Error & {code?: string}) => e.code === 'HybridConnectionNotFound')
  })

  it('a forwarder with no port given uses the endpoint port, or a free one when taken', async () => {
    relay.userMetadata = `[{"key":"endpoint","value":"db01:${echo.port}"}]`
    const logs = logBook()
    const f = new Forwarder({credentials: creds('defaultSender'), transport: relay.transport, local: {host: '127.0.0.1'}, log: logs.log})
    const ready = await f.start()
    cleanup.push(() => f.stop())
    assert.notEqual(ready.port, echo.port, 'the echo server holds that port')
    assert.equal(ready.endpoint, `db01:${echo.port}`)
    assert.match(String(logs.find((l) => l.event === 'warning')?.msg), /taken/)
  })

  it('a forwarder to a hybrid connection that does not exist stops at start (exit 4), before listening', async () => {
    relay.userMetadata = undefined
    const f = new Forwarder({credentials: creds('defaultSender'), transport: relay.transport, local: {host: '127.0.0.1', port: 0}})
    await assert.rejects(f.start(), (e: Error & {code?: string; exitCode?: number}) => e.code === 'HybridConnectionNotFound' && e.exitCode === 4)
  })
})

/** Log records as they come (an array), with a promise for the first record that matches. */
function logBook() {
  const records: RelayLogRecord[] = []
  const added = new EventEmitter()
  return Object.assign(records, {
    log: (r: RelayLogRecord) => {
      records.push(r)
      added.emit('record')
    },
    async first(match: (r: RelayLogRecord) => boolean): Promise<RelayLogRecord> {
      for (;;) {
        const found = records.find(match)
        if (found) return found
        await once(added, 'record')
      }
    },
  })
}
