import {strict as assert} from 'node:assert'
import {once} from 'node:events'

import {formatRenewToken, type AcceptCommand} from '../../../src/lib/relay/protocol.js'
import {createSasToken} from '../../../src/lib/relay/sas.js'
import {closed, KEYS, listen, open, refused, startRelay, type Harness} from './harness.js'

describe('relay broker: SAS tokens and the control channel', function () {
  let h: Harness
  beforeEach(async () => {
    h = await startRelay({rendezvousTimeoutMs: 1000})
  })
  afterEach(async () => {
    await h.close()
  })

  const listenUrl = (hc = 'hc1'): string => h.wss(hc, {'sb-hc-action': 'listen'})
  const connectUrl = (hc = 'hc1'): string => h.wss(hc, {'sb-hc-action': 'connect'})
  const past = (): number => Date.now() - 2 * 3600_000

  describe('token failures: refused with the right status and no connection made', () => {
    const cases: {name: string; url: () => string; token: () => string | undefined; status: number; reason: RegExp; action: 'listen' | 'connect'}[] = [
      {
        name: 'a wrong signature',
        action: 'listen',
        url: () => listenUrl(),
        token: () => h.token('hc1', 'defaultListener', {key: KEYS.send}),
        status: 401,
        reason: /^The token has an invalid signature\. TrackingId:/,
      },
      {
        name: 'an expired token (beyond the grace)',
        action: 'connect',
        url: () => connectUrl(),
        token: () => h.token('hc1', 'defaultSender', {ttlSeconds: 60, now: past}),
        status: 401,
        reason: /^ExpiredToken: The token is expired\. Expiration time: \d{4}-/,
      },
      {
        name: 'the Send key used to listen',
        action: 'listen',
        url: () => listenUrl(),
        token: () => h.token('hc1', 'defaultSender'),
        status: 403,
        reason: /^Unauthorized access\. 'Listen' claim\(s\) are required to perform this operation\. TrackingId:/,
      },
      {
        name: 'the Listen key used to send',
        action: 'connect',
        url: () => connectUrl(),
        token: () => h.token('hc1', 'defaultListener'),
        status: 403,
        reason: /^Unauthorized access\. 'Send' claim\(s\) are required/,
      },
      {
        name: 'a token for another entity (its own rule)',
        action: 'connect',
        url: () => connectUrl(),
        token: () => createSasToken({resourceUri: `http://127.0.0.1:${h.port}/other`, keyName: 'defaultSender', key: KEYS.other}),
        status: 401,
        reason: /invalid signature/,
      },
      {
        name: 'a namespace-rule token whose audience is another entity',
        action: 'connect',
        url: () => connectUrl(),
        token: () => h.token('other', 'RootManageSharedAccessKey'),
        status: 401,
        reason: /^InvalidAudience: /,
      },
      {
        name: 'a token for a prefix that is not a whole segment (hc1 vs hc)',
        action: 'connect',
        url: () => connectUrl(),
        token: () => h.token('hc', 'RootManageSharedAccessKey'),
        status: 401,
        reason: /^InvalidAudience: /,
      },
      {
        name: 'no token',
        action: 'connect',
        url: () => connectUrl(),
        token: () => undefined,
        status: 401,
        reason: /^TokenMissingOrInvalid/,
      },
      {
        name: 'a malformed token',
        action: 'listen',
        url: () => listenUrl(),
        token: () => 'SharedAccessSignature sr=x&sig=y',
        status: 401,
        reason: /^TokenMissingOrInvalid/,
      },
      {
        name: 'no token on listen, even where senders may be anonymous',
        action: 'listen',
        url: () => listenUrl('anon'),
        token: () => undefined,
        status: 401,
        reason: /^TokenMissingOrInvalid/,
      },
    ]
    for (const c of cases) {
      it(`${c.action}: ${c.name} → ${c.status}`, async () => {
        const listener = c.action === 'connect' ? await listen(h) : undefined
        const token = c.token()
        const r = await refused(c.url(), h.ca, {headers: token ? {ServiceBusAuthorization: token} : {}})
        assert.equal(r.status, c.status)
        assert.match(r.reason, c.reason)
        assert.ok(!/sig=/.test(r.reason), 'no token material in the reason')
        if (listener) {
          assert.equal(listener.inbox.size, 0, 'the listener must not hear of a refused sender')
          listener.ws.terminate()
        } else {
          assert.equal(h.broker.listenerCount('contoso', 'hc1'), 0)
        }
      })
    }
  })

  it('accepts a token in sb-hc-token, the secondary key, a namespace Manage rule, and a namespace-wide audience', async () => {
    const viaQuery = await open(h.wss('hc1', {'sb-hc-action': 'listen', 'sb-hc-token': h.token('hc1', 'defaultListener')}), h.ca)
    const secondary = await open(listenUrl(), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultListener', {key: KEYS.secondary})}})
    const nsWide = createSasToken({resourceUri: `https://127.0.0.1:${h.port}/`, keyName: 'RootManageSharedAccessKey', key: KEYS.root})
    const manage = await open(listenUrl(), h.ca, {headers: {ServiceBusAuthorization: nsWide}})
    // .NET form: http, trailer slash, namespace host instead of the IP
    const dotnet = createSasToken({resourceUri: 'http://contoso.servicebus.localhost/hc1/', keyName: 'defaultListener', key: KEYS.listen})
    const dotnetWs = await open(listenUrl(), h.ca, {headers: {ServiceBusAuthorization: dotnet}})
    assert.equal(h.broker.listenerCount('contoso', 'hc1'), 4)
    for (const ws of [viaQuery, secondary, manage, dotnetWs]) ws.terminate()
  })

  it('lets anonymous senders in when the hybrid connection does not require client authorization', async () => {
    const {inbox, ws} = await listen(h, 'anon')
    const senderPromise = open(connectUrl('anon'), h.ca)
    const {accept} = await inbox.json<{accept: AcceptCommand}>()
    const peer = await open(accept.address, h.ca)
    const sender = await senderPromise
    // the unauthenticated sender is spliced to the listener: bytes flow both ways
    const atPeer = once(peer, 'message')
    sender.send('from the anonymous sender')
    assert.equal(String((await atPeer)[0]), 'from the anonymous sender')
    const atSender = once(sender, 'message')
    peer.send('from the listener')
    assert.equal(String((await atSender)[0]), 'from the listener')
    sender.terminate()
    peer.terminate()
    ws.terminate()
  })

  it('answers pings, accepts unsolicited pongs and ignores unknown or malformed commands', async () => {
    const {ws, inbox} = await listen(h)
    ws.ping(Buffer.from('p1'))
    const [payload] = (await once(ws, 'pong')) as [Buffer]
    assert.equal(payload.toString(), 'p1')
    ws.pong(Buffer.from('unsolicited'))
    ws.send(JSON.stringify({somethingNew: {x: 1}}))
    ws.send('not json at all')
    ws.send(JSON.stringify({renewToken: {token: 42}}))
    ws.send(Buffer.alloc(0))
    // still a working control channel:
    const senderPromise = open(connectUrl(), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}})
    const {accept} = await inbox.json<{accept: AcceptCommand}>()
    const peer = await open(accept.address, h.ca)
    ;(await senderPromise).terminate()
    peer.terminate()
    assert.equal(ws.readyState, ws.OPEN)
    ws.terminate()
  })

  it('closes a control channel with 1008 when its token expires (after the grace)', async () => {
    const relay = await startRelay({tokenGraceSeconds: 0})
    try {
      const token = relay.token('hc1', 'defaultListener', {ttlSeconds: 1})
      const ws = await open(relay.wss('hc1', {'sb-hc-action': 'listen'}), relay.ca, {headers: {ServiceBusAuthorization: token}})
      const started = Date.now()
      const {code, reason} = await closed(ws)
      assert.equal(code, 1008)
      assert.match(reason, /^ExpiredToken/)
      assert.ok(Date.now() - started <= 2500)
      assert.deepEqual(relay.broker.tokenCounters(), {renewals: 0, renewalsRefused: 0, expiredClosed: 1})
    } finally {
      await relay.close()
    }
  })

  it('renewToken (raw or URL-encoded) keeps a control channel alive past its first token; the expireTokensEarly fault closes the others with 1008', async () => {
    const renewed = await listen(h)
    const encoded = await listen(h)
    const plain = await listen(h)
    renewed.ws.send(formatRenewToken(h.token('hc1', 'defaultListener', {ttlSeconds: 7200})))
    encoded.ws.send(formatRenewToken(encodeURIComponent(h.token('hc1', 'defaultListener', {ttlSeconds: 7200}))))
    // a round trip on each channel so that the broker has read the renewals
    renewed.ws.ping()
    encoded.ws.ping()
    await Promise.all([once(renewed.ws, 'pong'), once(encoded.ws, 'pong')])
    const plainClosed = closed(plain.ws)
    h.broker.setFaults({expireTokensEarlySeconds: 3600 + 301}) // 1 h tokens are now past their grace
    const {code, reason} = await plainClosed
    assert.equal(code, 1008)
    assert.match(reason, /ExpiredToken/)
    assert.equal(renewed.ws.readyState, renewed.ws.OPEN)
    assert.equal(encoded.ws.readyState, encoded.ws.OPEN)
    assert.equal(h.broker.listenerCount('contoso', 'hc1'), 2)
    assert.ok(h.broker.tokenCounters().renewals >= 2, 'both renewals counted')
    renewed.ws.terminate()
    encoded.ws.terminate()
  })

  it('closes the control channel with 1008 when renewToken carries a bad token', async () => {
    const {ws} = await listen(h)
    const c = closed(ws)
    ws.send(formatRenewToken(h.token('hc1', 'defaultListener', {key: KEYS.other})))
    const {code, reason} = await c
    assert.equal(code, 1008)
    assert.match(reason, /invalid signature/)
  })

  it('entityDeleted closes control channels with 1001; dropListeners cuts them', async () => {
    const a = await listen(h)
    const b = await listen(h, 'anon')
    const c = closed(a.ws)
    h.broker.entityDeleted('Contoso', 'HC1')
    assert.equal((await c).code, 1001)
    const d = closed(b.ws)
    assert.equal(h.broker.dropListeners('contoso'), 1)
    assert.equal((await d).code, 1006)
    assert.equal(h.broker.dropListeners(), 0)
  })

  it('fault stallRendezvous: the listener never hears of the sender, which times out with 404', async () => {
    const {inbox, ws} = await listen(h)
    h.broker.setFaults({stallRendezvous: true})
    const r = await refused(connectUrl(), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}})
    assert.equal(r.status, 404)
    assert.match(r.reason, /^None of the connected listeners accepted/)
    assert.equal(inbox.size, 0)
    ws.terminate()
  })

  it('fault refuseRendezvous: the listener\'s dial is refused with that status and the sender times out', async () => {
    const {inbox, ws} = await listen(h)
    h.broker.setFaults({refuseRendezvous: 503})
    const senderRefusal = refused(connectUrl(), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}})
    const {accept} = await inbox.json<{accept: AcceptCommand}>()
    assert.equal((await refused(accept.address, h.ca)).status, 503)
    assert.equal((await senderRefusal).status, 404)
    ws.terminate()
  })

  it('close() shuts control channels with 1001 and refuses new work', async () => {
    const {ws} = await listen(h)
    const c = closed(ws)
    await h.broker.close()
    assert.equal((await c).code, 1001)
    assert.equal((await refused(listenUrl(), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultListener')}})).status, 503)
  })
})

