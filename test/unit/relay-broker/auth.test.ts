import {strict as assert} from 'node:assert'
import type {IncomingMessage} from 'node:http'

import fc from 'fast-check'

import type {RelayEntity} from '../../../src/emulator/contracts.js'
import {authorize, findToken, type AuthRequest} from '../../../src/emulator/relay/auth.js'
import {createRelayBroker} from '../../../src/emulator/relay/broker.js'
import {escapeXml, hybridConnectionEntryXml, managementErrorXml} from '../../../src/emulator/relay/management.js'
import {createSasToken} from '../../../src/lib/relay/sas.js'

const NOW = Date.UTC(2026, 0, 1)
const KEY = 'a2V5LWZvci11bml0LXRlc3Rz'

const hc: RelayEntity = {
  namespace: 'contoso',
  name: 'hc1',
  requiresClientAuthorization: true,
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  rules: [
    {name: 'listenOnly', rights: ['Listen'], primaryKey: KEY, secondaryKey: 'other'},
    {name: 'sendOnly', rights: ['Send'], primaryKey: KEY, secondaryKey: 'other'},
  ],
  namespaceRules: [{name: 'root', rights: ['Listen', 'Send', 'Manage'], primaryKey: KEY, secondaryKey: 'other'}],
}

function token(resourceUri: string, keyName = 'root', ttlSeconds = 3600, now = NOW): string {
  return createSasToken({resourceUri, keyName, key: KEY, ttlSeconds, now: () => now})
}

function request(overrides: Partial<AuthRequest> & {token?: string}): AuthRequest {
  const {token: t, ...rest} = overrides
  return {
    action: 'connect',
    carrier: t === undefined ? undefined : {token: t, source: 'ServiceBusAuthorization'},
    entity: hc,
    requestHost: '127.0.0.1',
    namespaceHost: 'contoso.servicebus.localhost',
    path: 'hc1',
    nowMs: NOW,
    graceSeconds: 300,
    earlySeconds: 0,
    ...rest,
  }
}

describe('relay broker: SAS authorization (relay-protocol §4.4)', () => {
  it('accepts the audience forms real clients sign', () => {
    for (const aud of [
      'http://127.0.0.1:9443/hc1', // hyco helpers: port kept
      'https://contoso.servicebus.localhost/hc1/', // .NET: trailing slash
      'sb://CONTOSO.servicebus.localhost/', // namespace-wide
      'http://127.0.0.1/$hc/hc1',
      'http://contoso.servicebus.localhost/hc1?x=1', // .NET keeps the query
    ]) {
      const r = authorize(request({token: token(aud)}))
      assert.equal(r.ok, true, aud)
    }
    const deeper = authorize(request({token: token('http://127.0.0.1/hc1'), path: 'hc1/suffix/more'}))
    assert.equal(deeper.ok, true)
  })

  it('refuses other hosts, other entities and partial segments with 401 InvalidAudience', () => {
    for (const aud of ['http://evil.example/hc1', 'http://127.0.0.1/hc10', 'http://127.0.0.1/hc1/suffix', 'http://127.0.0.1/other']) {
      const r = authorize(request({token: token(aud)}))
      assert.deepEqual(r.ok ? 'ok' : [r.status, r.message.split(':')[0]], [401, 'InvalidAudience'], aud)
    }
  })

  it('applies the grace and the early-expiry fault', () => {
    const t = token('http://127.0.0.1/hc1', 'root', 60)
    assert.equal(authorize(request({token: t, nowMs: NOW + 60_000 + 299_000})).ok, true)
    assert.equal(authorize(request({token: t, nowMs: NOW + 60_000 + 300_000})).ok, false)
    assert.equal(authorize(request({token: t, graceSeconds: 0, nowMs: NOW + 61_000})).ok, false)
    assert.equal(authorize(request({token: t, earlySeconds: 400})).ok, false)
  })

  it('checks rights: Listen for listen and management, Send for connect and HTTP; Manage carries both', () => {
    const aud = 'http://127.0.0.1/hc1'
    const cases: [AuthRequest['action'], string, boolean][] = [
      ['listen', 'listenOnly', true],
      ['listen', 'sendOnly', false],
      ['connect', 'sendOnly', true],
      ['connect', 'listenOnly', false],
      ['http', 'listenOnly', false],
      ['management', 'listenOnly', true],
      ['management', 'sendOnly', false],
      ['listen', 'root', true],
      ['http', 'root', true],
    ]
    for (const [action, rule, ok] of cases) {
      const r = authorize(request({action, token: token(aud, rule)}))
      assert.equal(r.ok, ok, `${action} with ${rule}`)
      if (!r.ok) assert.equal(r.status, 403)
    }
  })

  it('anonymous only for senders of entities that allow it', () => {
    assert.equal(authorize(request({})).ok, false)
    const open = {...hc, requiresClientAuthorization: false}
    assert.deepEqual(authorize(request({entity: open})), {ok: true, anonymous: true})
    assert.deepEqual(authorize(request({entity: open, action: 'http'})), {ok: true, anonymous: true})
    assert.equal(authorize(request({entity: open, action: 'listen'})).ok, false)
  })

  it('never throws and never lets a random token in (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom<AuthRequest['action']>('listen', 'connect', 'http', 'management'), (t, action) => {
        const r = authorize(request({token: t, action}))
        assert.equal(r.ok, false)
        if (!r.ok) assert.ok(!r.message.includes(t) || t.length < 4, 'the token is never echoed')
      }),
    )
  })

  it('finds the token in the query, then ServiceBusAuthorization, then (HTTP only) Authorization', () => {
    const sas = 'SharedAccessSignature sr=a&sig=b&se=1&skn=c'
    assert.deepEqual(findToken('q', {servicebusauthorization: 'h'}, 'listen'), {token: 'q', source: 'query'})
    assert.deepEqual(findToken(undefined, {servicebusauthorization: 'h', authorization: sas}, 'http'), {token: 'h', source: 'ServiceBusAuthorization'})
    assert.deepEqual(findToken(undefined, {authorization: sas}, 'http'), {token: sas, source: 'Authorization'})
    assert.equal(findToken(undefined, {authorization: sas}, 'connect'), undefined)
    assert.equal(findToken(undefined, {authorization: 'Bearer x'}, 'http'), undefined, 'other Authorization schemes pass through to the listener')
  })
})

describe('relay broker: management XML and request routing', () => {
  it('escapes XML and keeps the description order', () => {
    assert.equal(escapeXml('<a href="x">&\'</a>\u0001'), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;')
    const xml = hybridConnectionEntryXml({...hc, userMetadata: '[{"key":"endpoint","value":"h:1"}]'}, 'contoso.servicebus.localhost', 3)
    const order = ['CreatedAt', 'UpdatedAt', 'RequiresClientAuthorization', 'UserMetadata', 'ListenerCount'].map((n) => xml.indexOf(`<${n}>`))
    assert.deepEqual([...order].sort((a, b) => a - b), order)
    assert.ok(!order.includes(-1))
    assert.ok(!hybridConnectionEntryXml(hc, 'h', 0).includes('<UserMetadata>'), 'no metadata element when none is set')
    assert.equal(managementErrorXml(401, 'a<b'), '<Error><Code>401</Code><Detail>a&lt;b</Detail></Error>')
  })

  it('isRelayRequest: /$hc/ paths, relay hosts, SNI, X-PROCESS-AT and relay token carriers; not ARM', () => {
    const broker = createRelayBroker({
      directory: {namespaces: () => [], resolve: () => undefined},
      relaySuffix: '.servicebus.localhost',
      rendezvousBase: () => 'wss://127.0.0.1:1',
    })
    const req = (url: string, headers: Record<string, string> = {}, servername?: string) =>
      ({url, headers, socket: servername ? {servername} : {}}) as unknown as IncomingMessage
    assert.equal(broker.isRelayRequest(req('/$hc/hc1?sb-hc-action=listen', {host: '127.0.0.1:5'})), true)
    assert.equal(broker.isRelayRequest(req('/%24hc/hc1', {host: '127.0.0.1:5'})), true)
    assert.equal(broker.isRelayRequest(req('/hc1/x', {host: 'contoso.servicebus.localhost:5'})), true)
    assert.equal(broker.isRelayRequest(req('/hc1/x', {host: '127.0.0.1:5'}, 'contoso.servicebus.localhost')), true)
    assert.equal(broker.isRelayRequest(req('/hc1?api-version=2016-07', {host: '127.0.0.1:5', 'x-process-at': 'ServiceBus'})), true)
    assert.equal(broker.isRelayRequest(req('/hc1/x', {host: '127.0.0.1:5', servicebusauthorization: 'SharedAccessSignature x'})), true)
    assert.equal(broker.isRelayRequest(req('/hc1/x?sb-hc-token=abc', {host: '127.0.0.1:5'})), true)
    assert.equal(broker.isRelayRequest(req('/subscriptions/x/resourceGroups?api-version=2021-04-01', {host: '127.0.0.1:5', authorization: 'Bearer x'})), false)
    assert.equal(broker.isRelayRequest(req('/hc1', {host: '.servicebus.localhost'})), false)
  })
})
