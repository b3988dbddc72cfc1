import {strict as assert} from 'node:assert'
import {once} from 'node:events'

import type {WebSocket} from 'ws'

import {credentialsFromKey} from '../../../src/lib/relay/credentials.js'
import {isRelayError} from '../../../src/lib/relay/errors.js'
import {type AcceptRequest, RelayListener} from '../../../src/lib/relay/listener.js'
import {parseSasToken} from '../../../src/lib/relay/sas.js'
import type {RawWebSocket} from '../../../src/lib/relay/raw-websocket.js'
import {connectSender, openSenderRaw} from '../../../src/lib/relay/sender.js'
import {type FakeRelay, startFakeRelay} from './fake-relay.js'

const KEY = 'c2VjcmV0LWtleS1ub3QtZm9yLWxvZ3M='

describe('relay listener and sender (against a fake relay over TLS)', () => {
  let relay: FakeRelay
  const listeners: RelayListener[] = []
  beforeEach(async () => {
    relay = await startFakeRelay()
  })
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.stop()))
    await relay.close()
  })

  const listen = (opts: Partial<ConstructorParameters<typeof RelayListener>[0]> = {}) => {
    const l = new RelayListener({
      credentials: credentialsFromKey({host: relay.host, entity: 'hc1', keyName: 'defaultListener', key: KEY}),
      transport: relay.transport,
      backoffMinMs: 20,
      ...opts,
    })
    listeners.push(l)
    return l
  }
  const send = (opts: Partial<Parameters<typeof connectSender>[0]> = {}) =>
    connectSender({host: relay.host, entity: 'hc1', keyName: 'defaultSender', key: KEY, timeoutMs: 5000, ...transportAsCloud(relay), ...opts})

  it('listens with the token in ServiceBusAuthorization, accepts a sender, and messages flow both ways', async () => {
    const l = listen()
    await l.start()
    const req = relay.requests.find((r) => r.action === 'listen')!
    assert.equal(req.path, 'hc1')
    const token = parseSasToken(String(req.headers.servicebusauthorization))
    assert.equal(token.skn, 'defaultListener')
    assert.equal(decodeURIComponent(token.sr), `http://${relay.host}/hc1`)
    assert.doesNotMatch(req.url, /sb-hc-token/, 'the token travels in the header, not the URL')
    assert.equal(req.headers.host, relay.host, 'Host stays the namespace host although we dial 127.0.0.1')

    const accepted = new Promise<WebSocket>((resolve) => l.once('accept', (r: AcceptRequest) => resolve(r.accept())))
    const sender = await send({headers: {'X-App': 'yes'}})
    const lws = await accepted
    const echoed = once(sender.ws, 'message')
    lws.on('message', (d: Buffer) => lws.send(Buffer.concat([Buffer.from('echo:'), d])))
    sender.ws.send(Buffer.from('hello'))
    const [data] = (await echoed) as [Buffer]
    assert.equal(data.toString(), 'echo:hello')
    sender.ws.close()
  })

  it('a rejection reaches the sender as RejectedByListener with the status and reason', async () => {
    const l = listen()
    await l.start()
    l.on('accept', (r: AcceptRequest) => void r.reject(502, 'connect ECONNREFUSED db01:1433 from agent on host X'))
    await assert.rejects(send(), (e: unknown) => {
      assert.ok(isRelayError(e, 'RejectedByListener'))
      assert.equal(e.status, 502)
      assert.equal(e.reason, 'connect ECONNREFUSED db01:1433 from agent on host X')
      assert.equal(e.exitCode, 3)
      return true
    })
  })

  it('sender errors are typed: no listener, no such hybrid connection, unauthorized, unreachable', async () => {
    await assert.rejects(send(), (e: unknown) => isRelayError(e, 'NoListener') && e.status === 404)
    relay.failConnect = {status: 404, reason: 'Endpoint does not exist. TrackingId:1, SystemTracker:sb://x/hc1, Timestamp:now'}
    await assert.rejects(send(), (e: unknown) => isRelayError(e, 'HybridConnectionNotFound') && e.exitCode === 4)
    relay.failConnect = {status: 401, reason: 'The token has an invalid signature'}
    await assert.rejects(send(), (e: unknown) => {
      assert.ok(isRelayError(e, 'RelayUnauthorized'))
      assert.match(e.message, /the key does not match the rule \(wrong or rotated key\)/)
      assert.doesNotMatch(e.message + e.suggestions.join(' '), new RegExp(KEY))
      return true
    })
    await assert.rejects(
      connectSender({host: 'ns.fake.test', entity: 'hc1', keyName: 'k', key: KEY, timeoutMs: 2000, cloud: {...fakeCloud(relay), relayAddress: {host: '127.0.0.1', port: 1}}}),
      (e: unknown) => isRelayError(e, 'RelayUnreachable') && /ECONNREFUSED/.test((e as Error).message),
    )
  })

  it('a sender times out with RelayTimeout when nobody answers', async () => {
    const l = listen()
    await l.start()
    l.on('accept', () => {}) // never accepts
    await assert.rejects(send({timeoutMs: 300} as never), (e: unknown) => isRelayError(e, 'RelayTimeout'))
  })

  it('stops for good on 404 and on 401/403, naming the Listen right', async () => {
    relay.failListen = {status: 404, reason: 'Endpoint does not exist. TrackingId:1'}
    await assert.rejects(listen().start(), (e: unknown) => isRelayError(e, 'HybridConnectionNotFound'))
    relay.failListen = {status: 403, reason: 'Unauthorized access'}
    const l = listen()
    await assert.rejects(l.start(), (e: unknown) => isRelayError(e, 'RelayUnauthorized') && /Listen right/.test((e as Error).message))
    assert.equal(l.state().fatal, true)
    assert.equal(relay.requests.filter((r) => r.action === 'listen').length, 2, 'no retries after a fatal answer')
  })

  it('retries other failures with backoff, and reconnects after the relay drops the control channel', async () => {
    relay.failListen = {status: 500, reason: 'Service error'}
    const l = listen()
    const started = l.start()
    await once(l, 'reconnecting')
    await once(l, 'reconnecting')
    relay.failListen = undefined
    await started
    assert.ok(l.state().reconnects >= 2)
    const t0 = Date.now()
    relay.dropListeners()
    await once(l, 'listening')
    assert.ok(Date.now() - t0 < 3000)
    assert.equal(relay.listeners.length, 1)
  })

  it('renews its token at half-life with renewToken', async () => {
    const l = listen({tokenTtlSeconds: 2})
    await l.start()
    await once(relay.listeners[0]!.ws, 'message')
    const msg = relay.controlMessages.find((m) => m.includes('renewToken'))!
    const token = parseSasToken(JSON.parse(msg).renewToken.token)
    assert.equal(token.skn, 'defaultListener')
    assert.ok(token.se * 1000 > Date.now())
  })

  it('ignores unknown and malformed control messages and keeps listening', async () => {
    const l = listen()
    await l.start()
    const unknown = once(l, 'unknown')
    const warning = once(l, 'warning')
    relay.broadcast(JSON.stringify({somethingNew: {}}))
    relay.broadcast('{not json')
    assert.deepEqual(await unknown, ['somethingNew'])
    assert.match(String((await warning)[0]), /malformed/)
    assert.equal(l.state().listening, true)
  })

  it('pings the control channel and reconnects when pongs stop', async () => {
    const l = listen({pingIntervalMs: 50})
    await l.start()
    // the fake relay's ws answers pings automatically; a silent peer is simulated by pausing it
    const entry = relay.listeners[0]!
    const reconnected = once(l, 'listening')
    ;(entry.ws as unknown as {_socket: {pause(): void}})._socket.pause()
    await once(l, 'disconnected')
    assert.equal(l.state().listening, false, 'a silent control channel is given up')
    await reconnected
    assert.equal(l.state().listening, true)
    assert.equal(l.state().reconnects, 1)
    assert.equal(relay.listeners.length, 2, 'a second control channel was opened')
  })
})

function fakeCloud(relay: FakeRelay) {
  return {
    name: 'fake',
    armEndpoint: 'https://127.0.0.1',
    armAudience: 'https://127.0.0.1',
    authorityHost: 'https://127.0.0.1',
    relaySuffix: '.fake.test',
    appServiceSuffix: '.fake.test',
    ca: relay.transport.ca,
    relayAddress: relay.transport.relayAddress,
  }
}

function transportAsCloud(relay: FakeRelay) {
  return {cloud: fakeCloud(relay)}
}

describe('connectSenderStream', () => {
  it('gives a Duplex over the sender WebSocket', async () => {
    const {connectSenderStream} = await import('../../../src/lib/relay/sender.js')
    const relay = await startFakeRelay()
    const l = new RelayListener({credentials: credentialsFromKey({host: relay.host, entity: 'hc1', keyName: 'l', key: KEY}), transport: relay.transport})
    await l.start()
    l.on('accept', async (r: AcceptRequest) => {
      const ws = await r.accept()
      ws.on('message', (d: Buffer) => ws.send(d))
    })
    const {stream} = await connectSenderStream({host: relay.host, entity: 'hc1', keyName: 's', key: KEY, cloud: fakeCloud(relay)})
    stream.write('round trip')
    const [data] = (await once(stream, 'data')) as [Buffer]
    assert.equal(data.toString(), 'round trip')
    stream.destroy()
    await l.stop()
    await relay.close()
  })
})

describe('raw sender and accept (the tunnels\' handshake, against the same fake relay)', () => {
  let relay: FakeRelay
  let l: RelayListener | undefined
  beforeEach(async () => {
    relay = await startFakeRelay()
  })
  afterEach(async () => {
    await l?.stop()
    l = undefined
    await relay.close()
  })
  const creds = (keyName = 'defaultSender', host = relay.host) => credentialsFromKey({host, entity: 'hc1', keyName, key: KEY})
  const listen = async () => {
    l = new RelayListener({credentials: creds('defaultListener'), transport: relay.transport, backoffMinMs: 20})
    await l.start()
    return l
  }

  it('openSenderRaw and acceptRaw meet: zero-masked client frames go through, the Host stays the namespace host', async () => {
    const listener = await listen()
    const accepted = new Promise<RawWebSocket>((resolve) => listener.once('accept', (r: AcceptRequest) => resolve(r.acceptRaw())))
    const sender = await openSenderRaw(creds(), relay.transport, {headers: {'X-App': 'yes'}})
    const lraw = await accepted
    const req = relay.requests.find((r) => r.action === 'connect')!
    assert.equal(req.headers.host, relay.host)
    assert.equal(req.headers['x-app'], 'yes')
    assert.equal(sender.entity, 'hc1')
    // A binary frame, masked with a zero key, arrives unmasked on the other side (the fake relay is ws-based).
    const got = once(lraw.socket, 'data')
    sender.ws.socket.write(Buffer.concat([Buffer.from([0x82, 0x85, 0, 0, 0, 0]), Buffer.from('hello')]))
    const [frame] = (await got) as [Buffer]
    assert.deepEqual([...frame.subarray(0, 2)], [0x82, 5])
    assert.equal(frame.subarray(2).toString(), 'hello')
    sender.ws.socket.destroy()
    lraw.socket.destroy()
  })

  it('maps failures to the same typed errors as openSender: rejected, no listener, not found, unauthorized, unreachable, timeout', async () => {
    await assert.rejects(openSenderRaw(creds(), relay.transport, {timeoutMs: 5000}), (e: unknown) => isRelayError(e, 'NoListener') && e.status === 404)
    relay.failConnect = {status: 404, reason: 'Endpoint does not exist. TrackingId:1'}
    await assert.rejects(openSenderRaw(creds(), relay.transport), (e: unknown) => isRelayError(e, 'HybridConnectionNotFound'))
    relay.failConnect = {status: 401, reason: 'The token has an invalid signature'}
    await assert.rejects(openSenderRaw(creds(), relay.transport), (e: unknown) => isRelayError(e, 'RelayUnauthorized') && !(e as Error).message.includes(KEY))
    relay.failConnect = undefined
    await assert.rejects(
      openSenderRaw(creds(), {...relay.transport, relayAddress: {host: '127.0.0.1', port: 1}}),
      (e: unknown) => isRelayError(e, 'RelayUnreachable') && /ECONNREFUSED/.test((e as Error).message),
    )
    const listener = await listen()
    listener.once('accept', (r: AcceptRequest) => void r.reject(502, 'connect ECONNREFUSED db01:1433 from agent on host X'))
    await assert.rejects(openSenderRaw(creds(), relay.transport), (e: unknown) => isRelayError(e, 'RejectedByListener') && e.status === 502 && e.reason === 'connect ECONNREFUSED db01:1433 from agent on host X')
    listener.once('accept', () => {}) // never accepts
    await assert.rejects(openSenderRaw(creds(), relay.transport, {timeoutMs: 300}), (e: unknown) => isRelayError(e, 'RelayTimeout'))
    const ac = new AbortController()
    listener.once('accept', () => ac.abort())
    await assert.rejects(openSenderRaw(creds(), relay.transport, {signal: ac.signal}), (e: unknown) => isRelayError(e, 'RelayTimeout') && /Cancelled/.test((e as Error).message))
  })
})
