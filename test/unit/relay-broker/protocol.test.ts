import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {
  buildAcceptUrl,
  buildConnectUrl,
  buildHttpUrl,
  buildListenUrl,
  buildManagementUrl,
  buildRejectUrl,
  buildRequestRendezvousUrl,
  forwardedCloseCode,
  formatAccept,
  formatReason,
  formatRenewToken,
  formatRequest,
  formatResponse,
  isControlChannelRequest,
  isSendableCloseCode,
  parseListenerMessage,
  parseReason,
  parseRelayTarget,
  parseServiceMessage,
  parseStatusCode,
  relayBaseUrl,
  RelayProtocolError,
  renewedTokenText,
  sanitizeReasonPhrase,
  truncateCloseReason,
  type AcceptCommand,
  type RequestCommand,
  type ResponseCommand,
} from '../../../src/lib/relay/protocol.js'

/** fast-check builds null-prototype records; compare with plain objects. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

const CODES = new Set(['InvalidJson', 'NotACommand', 'AmbiguousCommand', 'InvalidField', 'MissingField', 'MessageTooLarge', 'InvalidUrl'])

function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof RelayProtocolError, `unexpected ${(error as Error).name}: ${(error as Error).message}`)
    assert.ok(CODES.has(error.protocolCode), error.protocolCode)
    assert.equal(error.code, `RelayProtocol${error.protocolCode}`)
    assert.equal(error.exitCode, 1)
  }
}

function protocolCode(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof RelayProtocolError) return error.protocolCode
    throw error
  }
  throw new Error('expected a RelayProtocolError')
}

const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/)
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/)
const headers = fc.dictionary(headerName, headerValue, {maxKeys: 6})
const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/)
const address = fc.tuple(fc.constantFrom('ws', 'wss'), fc.stringMatching(/^[a-z0-9-]{1,12}$/), id).map(([s, h, i]) => `${s}://${h}.example:443/$hc/hc?sb-hc-action=accept&sb-hc-id=${i}`)
const endpoint = fc.record({address: fc.ipV4(), port: fc.integer({min: 0, max: 65535})})

const accept: fc.Arbitrary<AcceptCommand> = fc
  .record({address, id, connectHeaders: headers, remoteEndpoint: endpoint}, {requiredKeys: ['address', 'id', 'connectHeaders']})
const request: fc.Arbitrary<RequestCommand> = fc.record(
  {
    address,
    id,
    requestTarget: fc.stringMatching(/^\/[A-Za-z0-9/._~?=&%-]{0,40}$/),
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'),
    remoteEndpoint: endpoint,
    requestHeaders: headers,
    body: fc.boolean(),
  },
  {requiredKeys: ['address', 'id']},
)
const response: fc.Arbitrary<ResponseCommand> = fc.record(
  {
    requestId: id,
    statusCode: fc.integer({min: 100, max: 599}),
    statusDescription: fc.string({maxLength: 30}),
    responseHeaders: headers,
    body: fc.boolean(),
  },
  {requiredKeys: ['requestId', 'statusCode', 'body']},
)

describe('relay protocol: control messages', () => {
  it('parsers never throw anything but RelayProtocolError, whatever arrives (property)', () => {
    const json = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify({accept: v})),
      fc.jsonValue().map((v) => JSON.stringify({request: v})),
      fc.jsonValue().map((v) => JSON.stringify({response: v})),
      fc.jsonValue().map((v) => JSON.stringify({renewToken: v})),
      fc.dictionary(fc.string(), fc.jsonValue()).map((v) => JSON.stringify({response: v})),
      fc.dictionary(fc.string(), fc.jsonValue()).map((v) => JSON.stringify({accept: v})),
    )
    fc.assert(
      fc.property(json, (text) => {
        onlyProtocolErrors(() => parseServiceMessage(text))
        onlyProtocolErrors(() => parseListenerMessage(text))
        onlyProtocolErrors(() => parseListenerMessage(Buffer.from(text)))
      }),
      {numRuns: 500},
    )
  })

  it('format then parse gives the command back (property)', () => {
    fc.assert(
      fc.property(accept, (a) => {
        const parsed = parseServiceMessage(formatAccept(a))
        assert.deepEqual(parsed, {type: 'accept', accept: plain(a)})
      }),
    )
    fc.assert(
      fc.property(request, (r) => {
        const parsed = parseServiceMessage(formatRequest(r))
        assert.deepEqual(parsed, {type: 'request', request: plain(r)})
        assert.equal(isControlChannelRequest(r), r.method !== undefined && r.body !== undefined)
      }),
    )
    fc.assert(
      fc.property(response, (r) => {
        assert.deepEqual(parseListenerMessage(formatResponse(r)), {type: 'response', response: plain(r)})
      }),
    )
  })

  it('reads statusCode as a number or a numeric string, and nothing else (property)', () => {
    fc.assert(
      fc.property(fc.integer({min: 100, max: 599}), (n) => {
        assert.equal(parseStatusCode(n), n)
        assert.equal(parseStatusCode(String(n)), n)
        assert.equal(parseListenerMessage(JSON.stringify({response: {requestId: 'r', statusCode: String(n), body: false}})).type, 'response')
      }),
    )
    for (const bad of [99, 600, 200.5, '2OO', '', null, true, [], '1000', -200]) assert.equal(parseStatusCode(bad), undefined, String(bad))
  })

  it('names what is wrong with stable codes', () => {
    assert.equal(protocolCode(() => parseListenerMessage('{')), 'InvalidJson')
    assert.equal(protocolCode(() => parseListenerMessage('[]')), 'NotACommand')
    assert.equal(protocolCode(() => parseListenerMessage('{}')), 'NotACommand')
    assert.equal(protocolCode(() => parseListenerMessage('{"a":1,"b":2}')), 'AmbiguousCommand')
    assert.equal(protocolCode(() => parseListenerMessage('{"response":{"statusCode":200,"body":false}}')), 'MissingField')
    assert.equal(protocolCode(() => parseListenerMessage('{"response":{"requestId":"x","body":false}}')), 'MissingField')
    assert.equal(protocolCode(() => parseListenerMessage('{"response":{"requestId":"x","statusCode":"abc","body":false}}')), 'InvalidField')
    assert.equal(protocolCode(() => parseListenerMessage('{"response":{"requestId":"x","statusCode":200,"body":"yes"}}')), 'InvalidField')
    assert.equal(protocolCode(() => parseListenerMessage('{"renewToken":{"token":5}}')), 'InvalidField')
    assert.equal(protocolCode(() => parseServiceMessage('{"accept":{"address":"http://x/","id":"1","connectHeaders":{}}}')), 'InvalidUrl')
    assert.equal(protocolCode(() => parseServiceMessage('{"accept":{"address":"wss://x/","id":"1","connectHeaders":{"bad name":"v"}}}')), 'InvalidField')
    assert.equal(protocolCode(() => parseServiceMessage('{"accept":{"address":"wss://x/","id":"1","connectHeaders":{"X":"a\\r\\nb"}}}')), 'InvalidField')
    assert.equal(protocolCode(() => parseServiceMessage('{"request":{"address":"wss://x/","id":"1","requestTarget":"no-slash"}}')), 'InvalidField')
    assert.equal(protocolCode(() => parseServiceMessage('{"request":{"address":"wss://x/","id":"1","method":"GE T"}}')), 'InvalidField')
    assert.equal(protocolCode(() => parseServiceMessage('{"accept":{"address":"wss://x/","id":"1","remoteEndpoint":{"address":"a","port":70000}}}')), 'InvalidField')
    assert.equal(protocolCode(() => parseListenerMessage(`{"x":"${'a'.repeat(300 * 1024)}"}`)), 'MessageTooLarge')
  })

  it('returns unknown commands for the caller to ignore', () => {
    assert.deepEqual(parseListenerMessage('{"ping":{}}'), {type: 'unknown', name: 'ping'})
    assert.deepEqual(parseServiceMessage('{"renewToken":{"token":"x"}}'), {type: 'unknown', name: 'renewToken'})
  })

  it('accepts hyco-https response quirks: numeric code, lower-cased headers; and multi-value header arrays', () => {
    const m = parseListenerMessage('{"response":{"requestId":"r","statusCode":200,"statusDescription":"OK","responseHeaders":{"content-type":"text/plain","x-n":5,"x-a":["1","2"]},"body":true}}')
    assert.deepEqual(m, {type: 'response', response: {requestId: 'r', statusCode: 200, statusDescription: 'OK', responseHeaders: {'content-type': 'text/plain', 'x-n': '5', 'x-a': '1, 2'}, body: true}})
  })

  it('renewToken: raw or URL-encoded tokens come out raw', () => {
    const token = 'SharedAccessSignature sr=http%3A%2F%2Fns%2Fhc&sig=abc%2B%3D&se=1&skn=r'
    for (const text of [formatRenewToken(token), formatRenewToken(encodeURIComponent(token))]) {
      const m = parseListenerMessage(text)
      assert.equal(m.type, 'renewToken')
      if (m.type === 'renewToken') assert.equal(renewedTokenText(m.renewToken), token)
    }
    assert.equal(renewedTokenText({token: 'SharedAccessSignature%20%E0%A4%A'}), 'SharedAccessSignature%20%E0%A4%A')
  })
})

describe('relay protocol: URLs', () => {
  it('builds the addresses of every role', () => {
    assert.equal(buildListenUrl('sb://contoso.servicebus.windows.net/', 'hyco', {id: 'L1'}), 'wss://contoso.servicebus.windows.net/$hc/hyco?sb-hc-action=listen&sb-hc-id=L1')
    assert.equal(
      buildConnectUrl('contoso.servicebus.windows.net', 'a/b c', {suffix: 'x/y', query: {app: '1', 'sb-hc-token': 'dropped'}, token: 'SharedAccessSignature sr=a&sig=b'}),
      'wss://contoso.servicebus.windows.net/$hc/a/b%20c/x/y?app=1&sb-hc-action=connect&sb-hc-token=SharedAccessSignature+sr%3Da%26sig%3Db',
    )
    assert.equal(buildAcceptUrl('wss://127.0.0.1:8443', 'hc', 'id1', {suffix: 's'}), 'wss://127.0.0.1:8443/$hc/hc/s?sb-hc-action=accept&sb-hc-id=id1')
    assert.equal(buildRequestRendezvousUrl('ws://127.0.0.1:81', 'hc', 'r1'), 'ws://127.0.0.1:81/$hc/hc?sb-hc-action=request&sb-hc-id=r1')
    assert.equal(buildHttpUrl('sb://ns.example:9443', 'hc', {suffix: 'api', query: {q: '1'}}), 'https://ns.example:9443/hc/api?q=1')
    assert.equal(buildManagementUrl('ns.example', 'hc'), 'https://ns.example/hc?api-version=2016-07')
    assert.equal(buildRejectUrl('wss://g/$hc/hc?sb-hc-action=accept&sb-hc-id=1', 403, 'Go away'), 'wss://g/$hc/hc?sb-hc-action=accept&sb-hc-id=1&sb-hc-statusCode=403&sb-hc-statusDescription=Go+away')
    assert.equal(buildRejectUrl('wss://g/$hc/hc?sb-hc-action=accept', 451, 'No', 'plain'), 'wss://g/$hc/hc?sb-hc-action=accept&statusCode=451&statusDescription=No')
    assert.equal(relayBaseUrl('ws://127.0.0.1:5000/whatever').toString(), 'ws://127.0.0.1:5000/')
    assert.equal(protocolCode(() => relayBaseUrl('::::')), 'InvalidUrl')
  })

  it('parses what it builds: path, action, id, token, reject in both spellings, app query (property)', () => {
    const segment = fc.stringMatching(/^[\w .~-]{1,10}$/).filter((s) => s.trim() !== '' && s !== '.' && s !== '..')
    fc.assert(
      fc.property(
        fc.array(segment, {minLength: 1, maxLength: 3}),
        fc.array(segment, {maxLength: 2}),
        fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.string({maxLength: 10}), {maxKeys: 3}),
        id,
        fc.integer({min: 100, max: 599}),
        fc.string({maxLength: 30}),
        fc.boolean(),
        (hcSegs, sufSegs, query, sid, status, description, prefixed) => {
          const hc = hcSegs.join('/')
          const suffix = sufSegs.join('/')
          const url = new URL(buildAcceptUrl('wss://127.0.0.1:1', hc, sid, {suffix, query}))
          const reject = new URL(buildRejectUrl(url.toString(), status, description, prefixed ? 'sb-hc' : 'plain'))
          const p = parseRelayTarget(`${reject.pathname}${reject.search}`)
          assert.equal(p.hc, true)
          assert.equal(p.path, [hc, suffix].filter(Boolean).join('/'))
          assert.equal(p.action, 'accept')
          assert.equal(p.id, sid)
          assert.equal(p.reject?.statusCode, status)
          assert.equal(p.reject?.statusDescription, description)
          for (const [k, v] of Object.entries(query)) assert.equal(p.appQuery.get(k), v)
          assert.ok(![...p.appQuery.keys()].some((k) => k.startsWith('sb-hc-')))
        },
      ),
    )
  })

  it('parseRelayTarget never throws anything but RelayProtocolError (property)', () => {
    fc.assert(fc.property(fc.string(), (s) => onlyProtocolErrors(() => parseRelayTarget(`/${s}`))))
    assert.equal(protocolCode(() => parseRelayTarget('/$hc/%E0%A4%A')), 'InvalidUrl')
    assert.equal(parseRelayTarget('/%24hc/hc').hc, true)
    assert.equal(parseRelayTarget('/hc?x=1').hc, false)
    assert.equal(parseRelayTarget('/$hc/hc?sb-hc-statusCode=abc').reject?.statusCode, undefined)
  })
})

describe('relay protocol: reason phrases and close codes', () => {
  it('formats the service reason and parses it back (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z][A-Za-z ':]{0,40}[A-Za-z]$/),
        id,
        fc.stringMatching(/^[a-z0-9.-]{1,30}$/),
        fc.stringMatching(/^[a-z0-9/]{0,20}$/),
        fc.integer({min: 0, max: 4_000_000_000_000}),
        (message, trackingId, host, path, now) => {
          const text = formatReason(message, {trackingId, host, entityPath: path, now})
          assert.ok(!/[\r\n]/.test(text))
          const parsed = parseReason(text)
          assert.equal(parsed.message, message)
          assert.equal(parsed.trackingId, trackingId)
          assert.equal(parsed.systemTracker, `sb://${host}/${path}`)
          assert.equal(parsed.timestamp, new Date(now).toISOString().slice(0, 19))
        },
      ),
    )
    assert.equal(
      formatReason('Endpoint does not exist.', {trackingId: 't_G0', host: 'ns.example', entityPath: 'hc', now: Date.UTC(2024, 8, 24, 15, 6, 4)}),
      'Endpoint does not exist. TrackingId:t_G0, SystemTracker:sb://ns.example/hc, Timestamp:2024-09-24T15:06:04',
    )
    assert.deepEqual(parseReason('plain words'), {message: 'plain words'})
  })

  it('reason phrases are always safe for a status line (property)', () => {
    fc.assert(
      fc.property(fc.string({unit: 'binary'}), (s) => {
        assert.match(sanitizeReasonPhrase(s), /^[\t\x20-\x7e]*$/)
      }),
    )
  })

  it('forwards close codes the service way: sendable verbatim, 1005 → 1000, 1006 and unsendable → 1001 (property)', () => {
    assert.equal(forwardedCloseCode(1005), 1000)
    assert.equal(forwardedCloseCode(1006), 1001)
    assert.equal(forwardedCloseCode(4000), 4000)
    assert.equal(forwardedCloseCode(1015), 1001)
    fc.assert(
      fc.property(fc.integer({min: -10, max: 70000}), (code) => {
        const out = forwardedCloseCode(code)
        assert.ok(isSendableCloseCode(out))
        if (isSendableCloseCode(code)) assert.equal(out, code)
      }),
    )
    fc.assert(fc.property(fc.string({maxLength: 200}), (s) => assert.ok(Buffer.byteLength(truncateCloseReason(s)) <= 123)))
  })
})
