import {strict as assert} from 'node:assert'
import {once} from 'node:events'

import WebSocket from 'ws'

import {buildRejectUrl, parseReason, type AcceptCommand} from '../../../src/lib/relay/protocol.js'
import {createSasToken} from '../../../src/lib/relay/sas.js'
import {closed, Inbox, KEYS, listen, open, refused, startRelay, SUFFIX, type Harness} from './harness.js'

/** Connects a sender and returns it together with the accept its listener got. */
async function connectVia(
  h: Harness,
  inbox: Inbox,
  options: {hc?: string; headers?: Record<string, string>; protocols?: string[]; query?: Record<string, string>; listenerProtocol?: string} = {},
): Promise<{sender: WebSocket; peer: WebSocket; accept: AcceptCommand}> {
  const hc = options.hc ?? 'hc1'
  const senderPromise = open(h.wss(hc, {'sb-hc-action': 'connect', ...options.query}), h.ca, {
    headers: {ServiceBusAuthorization: h.token(hc, 'defaultSender'), ...options.headers},
    protocols: options.protocols,
  })
  const {accept} = await inbox.json<{accept: AcceptCommand}>()
  const peer = await open(accept.address, h.ca, {protocols: options.listenerProtocol ? [options.listenerProtocol] : []})
  const sender = await senderPromise
  return {sender, peer, accept}
}

describe('relay broker: WebSocket mode (raw protocol peers)', function () {
  let h: Harness
  beforeEach(async () => {
    h = await startRelay({rendezvousTimeoutMs: 1500})
  })
  afterEach(async () => {
    await h.close()
  })

  it('relays text and binary messages both ways with their types kept', async () => {
    const {inbox} = await listen(h)
    const {sender, peer} = await connectVia(h, inbox)
    const peerInbox = new Inbox(peer)
    const senderInbox = new Inbox(sender)
    sender.send('hello text')
    sender.send(Buffer.from([0, 1, 2, 255]))
    const a = await peerInbox.next()
    const b = await peerInbox.next()
    assert.deepEqual([a.isBinary, a.data.toString()], [false, 'hello text'])
    assert.deepEqual([b.isBinary, [...b.data]], [true, [0, 1, 2, 255]])
    peer.send('back')
    peer.send(Buffer.from('bin'))
    const c = await senderInbox.next()
    const d = await senderInbox.next()
    assert.deepEqual([c.isBinary, c.data.toString()], [false, 'back'])
    assert.deepEqual([d.isBinary, d.data.toString()], [true, 'bin'])
    assert.equal(sender.extensions, '', 'permessage-deflate must not be negotiated with the sender')
    assert.equal(peer.extensions, '', 'permessage-deflate must not be negotiated with the listener')
    sender.close()
    await closed(peer)
  })

  it('sends an accept with every raw header (original casing, key and version), no token, the suffix, app query and remote endpoint', async () => {
    const {inbox} = await listen(h)
    const {sender, peer, accept} = await connectVia(h, inbox, {
      hc: 'hc1/some/suffix',
      headers: {'X-Custom-Header': 'Yes'},
      query: {app: '1', 'sb-hc-id': 'my-sender'},
    })
    const names = Object.keys(accept.connectHeaders)
    assert.ok(names.includes('Sec-WebSocket-Key'), names.join(','))
    assert.ok(names.includes('Sec-WebSocket-Version'))
    assert.ok(names.includes('X-Custom-Header'))
    assert.equal(accept.connectHeaders['X-Custom-Header'], 'Yes')
    assert.ok(!names.some((n) => n.toLowerCase() === 'servicebusauthorization'), 'the token must not reach the listener')
    assert.match(accept.id, /^my-sender_/)
    const address = new URL(accept.address)
    assert.equal(address.pathname, '/$hc/hc1/some/suffix')
    assert.equal(address.searchParams.get('app'), '1')
    assert.equal(address.searchParams.get('sb-hc-action'), 'accept')
    assert.equal(address.searchParams.get('sb-hc-id'), accept.id)
    assert.equal(address.searchParams.get('sb-hc-token'), null)
    assert.ok(accept.id.length > 'my-sender_G0'.length + 20, 'the rendezvous id must be unguessable')
    assert.equal(accept.remoteEndpoint?.address, '127.0.0.1')
    assert.equal(typeof accept.remoteEndpoint?.port, 'number')
    sender.terminate()
    peer.terminate()
  })

  it('negotiates the subprotocol end to end: the sender gets what the listener chose', async () => {
    const {inbox} = await listen(h)
    const {sender, peer, accept} = await connectVia(h, inbox, {protocols: ['chat.v2', 'chat.v1'], listenerProtocol: 'chat.v1'})
    assert.equal(accept.connectHeaders['Sec-WebSocket-Protocol'], 'chat.v2,chat.v1')
    assert.equal(peer.protocol, 'chat.v1')
    assert.equal(sender.protocol, 'chat.v1')
    sender.terminate()
  })

  it('forwards close codes: application codes verbatim, 1005 as 1000, 1006 as 1001', async () => {
    const {inbox} = await listen(h)
    let pair = await connectVia(h, inbox)
    let senderClosed = closed(pair.sender)
    pair.peer.close(4000, 'bye')
    assert.deepEqual(await senderClosed, {code: 4000, reason: 'bye'})

    pair = await connectVia(h, inbox)
    const peerClosed = closed(pair.peer)
    pair.sender.close() // no code: 1005 on the broker's side
    assert.equal((await peerClosed).code, 1000)

    pair = await connectVia(h, inbox)
    senderClosed = closed(pair.sender)
    pair.peer.terminate() // dropped: 1006 on the broker's side
    assert.equal((await senderClosed).code, 1001)
  })

  it('passes a listener reject (sb-hc- spelling) to the sender as status and reason; the listener gets 410', async () => {
    const {inbox} = await listen(h)
    const senderRefusal = refused(h.wss('hc1', {'sb-hc-action': 'connect'}), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}})
    const {accept} = await inbox.json<{accept: AcceptCommand}>()
    const rejectUrl = buildRejectUrl(accept.address, 403, 'Go away now') // form encoding (+ for space), as .NET does
    assert.match(rejectUrl, /sb-hc-statusDescription=Go\+away\+now/)
    const listenerAnswer = await refused(rejectUrl, h.ca)
    assert.equal(listenerAnswer.status, 410)
    const r = await senderRefusal
    assert.equal(r.status, 403)
    assert.equal(r.reason, 'Go away now')
  })

  it('accepts the unprefixed statusCode/statusDescription spelling of hyco-ws', async () => {
    const {inbox} = await listen(h)
    const senderRefusal = refused(h.wss('hc1', {'sb-hc-action': 'connect'}), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}})
    const {accept} = await inbox.json<{accept: AcceptCommand}>()
    assert.equal((await refused(buildRejectUrl(accept.address, 451, 'Not here', 'plain'), h.ca)).status, 410)
    const r = await senderRefusal
    assert.deepEqual([r.status, r.reason], [451, 'Not here'])
  })

  it('makes rendezvous addresses single-use', async () => {
    const {inbox} = await listen(h)
    const {sender, accept} = await connectVia(h, inbox)
    const again = await refused(accept.address, h.ca)
    assert.equal(again.status, 403)
    assert.match(again.reason, /not valid, was already used or has expired/)
    sender.terminate()
  })

  it('answers a sender 404 "None of the connected listeners accepted…" when no listener dials in time; the address then expires', async () => {
    const {inbox} = await listen(h)
    const started = Date.now()
    const senderRefusal = refused(h.wss('hc1', {'sb-hc-action': 'connect'}), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}})
    const {accept} = await inbox.json<{accept: AcceptCommand}>()
    const r = await senderRefusal
    assert.equal(r.status, 404)
    assert.match(r.reason, /^None of the connected listeners accepted the connection within the allowed timeout\. TrackingId:/)
    assert.ok(Date.now() - started >= 1400, 'the sender waits for the rendezvous timeout')
    assert.equal((await refused(accept.address, h.ca)).status, 403)
  })

  it('answers 404 "Endpoint does not exist" and "There are no listeners connected" with the service reason format', async () => {
    const missing = await refused(h.wss('nope', {'sb-hc-action': 'connect'}), h.ca, {headers: {ServiceBusAuthorization: h.token('nope')}})
    assert.equal(missing.status, 404)
    const parsed = parseReason(missing.reason)
    assert.equal(parsed.message, 'Endpoint does not exist')
    assert.match(parsed.trackingId ?? '', /_G0$/)
    assert.equal(parsed.systemTracker, 'sb://127.0.0.1/nope')
    assert.match(parsed.timestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/)

    const none = await refused(h.wss('hc1', {'sb-hc-action': 'connect', 'sb-hc-id': 'abc'}), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}})
    assert.equal(none.status, 404)
    assert.match(none.reason, /^There are no listeners connected for the endpoint\. TrackingId:abc_G0, SystemTracker:sb:\/\/contoso\.servicebus\.localhost\/hc1, Timestamp:/)

    const listenMissing = await refused(h.wss('nope', {'sb-hc-action': 'listen'}), h.ca, {headers: {ServiceBusAuthorization: h.token('nope')}})
    assert.equal(listenMissing.status, 404)
  })

  it('treats a missing sb-hc-action as connect', async () => {
    const {inbox} = await listen(h)
    const senderPromise = open(h.wss('hc1'), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}})
    // the listener is offered the connection (an accept, as for an explicit connect) ...
    const {accept} = await inbox.json<{accept: AcceptCommand}>()
    assert.match(accept.address, /sb-hc-action=accept/)
    const peer = await open(accept.address, h.ca)
    const sender = await senderPromise
    // ... and the sender is spliced to it
    const atPeer = once(peer, 'message')
    sender.send('no action given')
    assert.equal(String((await atPeer)[0]), 'no action given')
    sender.terminate()
    peer.terminate()
  })

  it('refuses the 26th listener with 403 and a quota text; listenerCount reports live listeners', async () => {
    const all = []
    for (let i = 0; i < 25; i++) all.push(await listen(h))
    assert.equal(h.broker.listenerCount('contoso', 'hc1'), 25)
    assert.equal(h.broker.listenerCount('CONTOSO', 'HC1'), 25)
    const r = await refused(h.wss('hc1', {'sb-hc-action': 'listen'}), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultListener')}})
    assert.equal(r.status, 403)
    assert.match(r.reason, /limit of 25/)
    const gone = closed(all[0]!.ws)
    all[0]!.ws.close()
    await gone
    assert.equal(h.broker.listenerCount('contoso', 'hc1'), 24)
    for (const l of all) l.ws.terminate()
  })

  it('spreads senders at random over the connected listeners', async () => {
    const a = await listen(h)
    const b = await listen(h)
    const counts = [0, 0]
    for (let i = 0; i < 24; i++) {
      const senderPromise = open(h.wss('hc1', {'sb-hc-action': 'connect'}), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}})
      const which = await new Promise<{i: number; address: string}>((resolve) => {
        const onA = (data: Buffer): void => done(0, data)
        const onB = (data: Buffer): void => done(1, data)
        const done = (n: number, data: Buffer): void => {
          a.ws.off('message', onA)
          b.ws.off('message', onB)
          resolve({i: n, address: (JSON.parse(data.toString()) as {accept: AcceptCommand}).accept.address})
        }
        a.ws.on('message', onA)
        b.ws.on('message', onB)
      })
      counts[which.i]! += 1
      const peer = await open(which.address, h.ca)
      const sender = await senderPromise
      sender.terminate()
      peer.terminate()
    }
    // P(all 24 on one listener) = 2^-23
    assert.ok(counts[0]! > 0 && counts[1]! > 0, `distribution ${counts}`)
  })

  it('addresses namespaces by Host header; a bare IP resolves only unambiguous names', async () => {
    const host = `contoso${SUFFIX}`
    const ambiguous = await refused(h.wss('shared', {'sb-hc-action': 'listen'}), h.ca, {headers: {ServiceBusAuthorization: h.token('shared', 'defaultListener')}})
    assert.equal(ambiguous.status, 404)
    const token = createSasToken({resourceUri: `http://${host}/shared`, keyName: 'defaultListener', key: KEYS.listen})
    const ws = await open(h.wss('shared', {'sb-hc-action': 'listen'}), h.ca, {headers: {ServiceBusAuthorization: token, Host: host}})
    assert.equal(h.broker.listenerCount('contoso', 'shared'), 1)
    assert.equal(h.broker.listenerCount('fabrikam', 'shared'), 0)
    ws.terminate()
    const unknownNs = await refused(h.wss('hc1', {'sb-hc-action': 'listen'}), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultListener'), Host: `nowhere${SUFFIX}`}})
    assert.equal(unknownNs.status, 404)
    assert.match(unknownNs.reason, /SystemTracker:sb:\/\/nowhere\.servicebus\.localhost\/hc1/)
  })

  it('resolves the longest hybrid connection name matching whole segments', async () => {
    const deep = await listen(h, 'apps/deep/one')
    const shallow = await listen(h, 'apps')
    const senderPromise = open(h.wss('apps/deep/one/x', {'sb-hc-action': 'connect'}), h.ca, {headers: {ServiceBusAuthorization: h.token('apps/deep/one', 'defaultSender')}})
    const {accept} = await deep.inbox.json<{accept: AcceptCommand}>()
    assert.equal(new URL(accept.address).pathname, '/$hc/apps/deep/one/x')
    const peer = await open(accept.address, h.ca)
    ;(await senderPromise).terminate()
    peer.terminate()
    assert.equal(shallow.inbox.size, 0)
    deep.ws.terminate()
    shallow.ws.terminate()
  })

  it('routes by SNI when the Host header is a bare IP', async () => {
    const token = createSasToken({resourceUri: `http://contoso${SUFFIX}/shared`, keyName: 'defaultListener', key: KEYS.listen})
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const c = new WebSocket(h.wss('shared', {'sb-hc-action': 'listen'}), {ca: h.ca, servername: `contoso${SUFFIX}`, headers: {ServiceBusAuthorization: token}} as WebSocket.ClientOptions)
      c.once('open', () => resolve(c))
      c.once('unexpected-response', (_q, res) => reject(new Error(`refused ${res.statusCode} ${res.statusMessage}`)))
    })
    assert.equal(h.broker.listenerCount('contoso', 'shared'), 1)
    ws.terminate()
  })

  it('narrows the listener choice by Microsoft-Relay-AllowedListeners / DisallowedListeners', async () => {
    const a = await listen(h, 'hc1', 'defaultListener', 'listener-a')
    const b = await listen(h, 'hc1', 'defaultListener', 'listener-b')
    for (let i = 0; i < 6; i++) {
      const headers: Record<string, string> = i % 2 ? {'Microsoft-Relay-AllowedListeners': 'nobody, LISTENER-B'} : {'Microsoft-Relay-DisallowedListeners': 'listener-a'}
      const senderPromise = open(h.wss('hc1', {'sb-hc-action': 'connect'}), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender'), ...headers}})
      const {accept} = await b.inbox.json<{accept: AcceptCommand}>()
      const peer = await open(accept.address, h.ca)
      ;(await senderPromise).terminate()
      peer.terminate()
    }
    assert.equal(a.inbox.size, 0)
    const none = await refused(h.wss('hc1', {'sb-hc-action': 'connect'}), h.ca, {
      headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender'), 'Microsoft-Relay-AllowedListeners': 'someone-else'},
    })
    assert.equal(none.status, 404)
    assert.match(none.reason, /^None of the connected listeners meet the AllowedListeners\/DisallowedListeners criteria/)
    a.ws.terminate()
    b.ws.terminate()
  })

  it('answers 400 to an unknown sb-hc-action and to upgrades outside /$hc/', async () => {
    const token = {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}
    assert.equal((await refused(h.wss('hc1', {'sb-hc-action': 'dance'}), h.ca, {headers: token})).status, 400)
    const outside = await refused(`wss://127.0.0.1:${h.port}/hc1`, h.ca, {headers: token})
    assert.equal(outside.status, 400)
  })
})
