import {strict as assert} from 'node:assert'
import {randomBytes} from 'node:crypto'
import {request as httpsRequest} from 'node:https'

import {formatResponse, isControlChannelRequest, type RequestCommand} from '../../../src/lib/relay/protocol.js'
import {createSasToken} from '../../../src/lib/relay/sas.js'
import {Inbox, KEYS, listen, open, startRelay, type Harness} from './harness.js'
import {child, parseXml} from './xml.js'

interface Reply {
  status: number
  statusMessage: string
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

function send(url: string, ca: string, options: {method?: string; headers?: Record<string, string>; body?: Buffer} = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {method: options.method ?? 'GET', headers: options.headers, ca}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode!, statusMessage: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks)}))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

describe('relay broker: HTTP mode and the management GET', function () {
  let h: Harness
  beforeEach(async () => {
    h = await startRelay({httpResponseTimeoutMs: 400})
  })
  afterEach(async () => {
    await h.close()
  })

  const sendToken = (hc = 'hc1'): string => h.token(hc, 'defaultSender')

  it('relays a small request and its response over the control channel (string statusCode, Via, stray empty frames ignored)', async () => {
    const {ws, inbox} = await listen(h)
    const replyPromise = send(`${h.https('hc1/api/items')}?x=1&sb-hc-token=${encodeURIComponent(sendToken())}`, h.ca, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'X-Custom': 'v'},
      body: Buffer.from('{"a":1}'),
    })
    const {request} = await inbox.json<{request: RequestCommand}>()
    assert.ok(isControlChannelRequest(request))
    assert.equal(request.method, 'POST')
    assert.equal(request.requestTarget, '/hc1/api/items?x=1')
    assert.equal(request.body, true)
    const names = Object.keys(request.requestHeaders!).map((n) => n.toLowerCase())
    assert.ok(names.includes('x-custom') && names.includes('content-type'))
    for (const gone of ['host', 'content-length', 'connection', 'servicebusauthorization']) assert.ok(!names.includes(gone), gone)
    assert.equal(request.requestHeaders!.Via, '1.1 contoso.servicebus.localhost')
    assert.equal(request.remoteEndpoint?.address, '127.0.0.1')
    const body = await inbox.next()
    assert.deepEqual([body.isBinary, body.data.toString()], [true, '{"a":1}'])
    ws.send(JSON.stringify({response: {requestId: request.id, statusCode: '201', statusDescription: 'Made it', responseHeaders: {'X-Answer': '42'}, body: true}}))
    ws.send(Buffer.from('created'))
    const reply = await replyPromise
    assert.equal(reply.status, 201)
    assert.equal(reply.statusMessage, 'Made it')
    assert.equal(reply.headers['x-answer'], '42')
    assert.equal(reply.headers.via, '1.1 contoso.servicebus.localhost')
    assert.equal(reply.body.toString(), 'created')

    // 204 with body:false followed by hyco-https' stray empty binary frame, then another request
    const second = send(h.https('hc1/nothing'), h.ca, {headers: {ServiceBusAuthorization: sendToken()}})
    const r2 = (await inbox.json<{request: RequestCommand}>()).request
    assert.equal(r2.body, false)
    ws.send(formatResponse({requestId: r2.id, statusCode: 204, body: false}))
    ws.send(Buffer.alloc(0))
    assert.equal((await second).status, 204)
    const third = send(h.https('hc1/again'), h.ca, {headers: {ServiceBusAuthorization: sendToken()}})
    const r3 = (await inbox.json<{request: RequestCommand}>()).request
    ws.send(formatResponse({requestId: r3.id, statusCode: 200, body: true}))
    ws.send(Buffer.from('ok'))
    assert.equal((await third).body.toString(), 'ok')
    ws.terminate()
  })

  it('uses a rendezvous for request bodies over 64 KB: the request and its body arrive there, the response goes back there', async () => {
    const {ws, inbox} = await listen(h)
    const payload = randomBytes(100 * 1024)
    const replyPromise = send(h.https('hc1/upload'), h.ca, {method: 'PUT', headers: {ServiceBusAuthorization: sendToken()}, body: payload})
    const {request} = await inbox.json<{request: RequestCommand}>()
    assert.deepEqual(Object.keys(request).sort(), ['address', 'id'], 'rendezvous-only requests carry neither method nor body')
    const rv = await open(request.address, h.ca)
    const rvInbox = new Inbox(rv)
    const full = (await rvInbox.json<{request: RequestCommand}>()).request
    assert.equal(full.method, 'PUT')
    assert.equal(full.body, true)
    const body = await rvInbox.next()
    assert.ok(body.isBinary && body.data.equals(payload))
    const answer = randomBytes(100 * 1024)
    rv.send(formatResponse({requestId: full.id, statusCode: 200, body: true}))
    rv.send(answer)
    const reply = await replyPromise
    assert.equal(reply.status, 200)
    assert.ok(reply.body.equals(answer))
    ws.terminate()
  })

  it('accepts the response to a control-channel request on the request rendezvous (large responses)', async () => {
    const {ws, inbox} = await listen(h)
    const replyPromise = send(h.https('hc1/big'), h.ca, {headers: {Authorization: sendToken()}})
    const {request} = await inbox.json<{request: RequestCommand}>()
    assert.ok(!Object.keys(request.requestHeaders!).some((n) => n.toLowerCase() === 'authorization'), 'an Authorization header used for the relay is stripped')
    const rv = await open(request.address, h.ca)
    const answer = randomBytes(70 * 1024)
    rv.send(formatResponse({requestId: request.id, statusCode: 200, body: true}))
    rv.send(answer)
    assert.ok((await replyPromise).body.equals(answer))
    ws.terminate()
  })

  it('answers 502 without listeners, 404 for an unknown entity, 401 without a token, anonymous where allowed', async () => {
    const none = await send(h.https('hc1/x'), h.ca, {headers: {ServiceBusAuthorization: sendToken()}})
    assert.equal(none.status, 502)
    assert.equal((JSON.parse(none.body.toString()) as {error: {code: string}}).error.code, 'BadGateway')
    assert.equal(none.headers.via, undefined, 'answers of the service itself carry no Via')
    const missing = await send(h.https('nope/x'), h.ca, {headers: {ServiceBusAuthorization: sendToken()}})
    assert.equal(missing.status, 404)
    assert.match((JSON.parse(missing.body.toString()) as {error: {message: string}}).error.message, /^Endpoint does not exist\. TrackingId:/)
    const unauth = await send(h.https('hc1/x'), h.ca)
    assert.equal(unauth.status, 401)
    assert.equal((JSON.parse(unauth.body.toString()) as {error: {code: string}}).error.code, 'TokenMissingOrInvalid')
    const wrongRight = await send(h.https('hc1/x'), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultListener')}})
    assert.equal(wrongRight.status, 403)
    const {ws, inbox} = await listen(h, 'anon')
    const appAuth = 'SharedAccessSignature sr=app&sig=app&se=1&skn=app' // the application's own, not the relay's
    const anon = send(h.https('anon/x'), h.ca, {headers: {Authorization: appAuth}})
    const {request} = await inbox.json<{request: RequestCommand}>()
    assert.equal(request.requestHeaders!.Authorization, appAuth, 'Authorization passes through where relay auth is off')
    ws.send(formatResponse({requestId: request.id, statusCode: 200, body: false}))
    assert.equal((await anon).status, 200)
    ws.terminate()
  })

  it('answers 504 GatewayTimeout (JSON) when the listener does not respond in time', async () => {
    const {ws, inbox} = await listen(h)
    const replyPromise = send(h.https('hc1/slow'), h.ca, {headers: {ServiceBusAuthorization: sendToken()}})
    await inbox.json()
    const reply = await replyPromise
    assert.equal(reply.status, 504)
    const error = (JSON.parse(reply.body.toString()) as {error: {code: string; message: string}}).error
    assert.equal(error.code, 'GatewayTimeout')
    assert.match(error.message, /^The request was routed to the listener but the listener did not respond in the required time/)
    ws.terminate()
  })

  it('serves the runtime management GET as an Atom entry with HybridConnectionDescription fields in order', async () => {
    const {ws} = await listen(h)
    const token = createSasToken({resourceUri: `http://127.0.0.1:${h.port}/hc1`, keyName: 'defaultListener', key: KEYS.listen})
    const reply = await send(`${h.https('hc1')}?api-version=2016-07`, h.ca, {headers: {Authorization: token, 'X-PROCESS-AT': 'ServiceBus'}})
    assert.equal(reply.status, 200)
    assert.match(String(reply.headers['content-type']), /^application\/atom\+xml;type=entry/)
    const entry = parseXml(reply.body.toString())
    assert.equal(entry.name, 'entry')
    assert.equal(entry.attributes.xmlns, 'http://www.w3.org/2005/Atom')
    const content = child(entry, 'content')
    assert.equal(content.attributes.type, 'application/xml')
    const d = child(content, 'HybridConnectionDescription')
    assert.equal(d.attributes.xmlns, 'http://schemas.microsoft.com/netservices/2010/10/servicebus/connect')
    assert.deepEqual(
      d.children.map((c) => c.name),
      ['CreatedAt', 'UpdatedAt', 'RequiresClientAuthorization', 'UserMetadata', 'ListenerCount'],
    )
    assert.equal(child(d, 'UserMetadata').text, '[{"key":"endpoint","value":"db.internal:5432"}]')
    assert.equal(child(d, 'RequiresClientAuthorization').text, 'true')
    assert.equal(child(d, 'ListenerCount').text, '1')
    assert.equal(child(d, 'CreatedAt').text, '2026-01-02T03:04:05.678Z')
    ws.terminate()
  })

  it('answers management errors as <Error><Code/><Detail/></Error>: 401, 403 with a Send key, 404', async () => {
    const mgmt = `${h.https('hc1')}?api-version=2016-07`
    const noToken = await send(mgmt, h.ca, {headers: {'X-PROCESS-AT': 'ServiceBus'}})
    assert.equal(noToken.status, 401)
    const e = parseXml(noToken.body.toString())
    assert.equal(e.name, 'Error')
    assert.equal(child(e, 'Code').text, '401')
    assert.match(child(e, 'Detail').text, /TrackingId:/)
    const sendKey = await send(mgmt, h.ca, {headers: {Authorization: h.token('hc1', 'defaultSender'), 'X-PROCESS-AT': 'ServiceBus'}})
    assert.equal(sendKey.status, 403)
    assert.equal(child(parseXml(sendKey.body.toString()), 'Code').text, '403')
    const missing = await send(`${h.https('nope')}?api-version=2016-07`, h.ca, {headers: {Authorization: h.token('nope'), 'X-PROCESS-AT': 'ServiceBus'}})
    assert.equal(missing.status, 404)
    assert.match(child(parseXml(missing.body.toString()), 'Detail').text, /^Endpoint does not exist/)
  })

  it('routes by Microsoft-Relay-AllowedListeners and hides the routing headers from the listener', async () => {
    const a = await listen(h, 'hc1', 'defaultListener', 'agent-a')
    const b = await listen(h, 'hc1', 'defaultListener', 'agent-b')
    const replyPromise = send(h.https('hc1/x'), h.ca, {headers: {ServiceBusAuthorization: sendToken(), 'Microsoft-Relay-AllowedListeners': 'agent-b'}})
    const {request} = await b.inbox.json<{request: RequestCommand}>()
    assert.ok(!Object.keys(request.requestHeaders!).some((n) => n.toLowerCase().startsWith('microsoft-relay-')))
    b.ws.send(formatResponse({requestId: request.id, statusCode: 200, body: false}))
    assert.equal((await replyPromise).status, 200)
    assert.equal(a.inbox.size, 0)
    const none = await send(h.https('hc1/x'), h.ca, {headers: {ServiceBusAuthorization: sendToken(), 'Microsoft-Relay-DisallowedListeners': 'agent-a,agent-b'}})
    assert.equal(none.status, 404)
    a.ws.terminate()
    b.ws.terminate()
  })

  it('drops the sender with 502 when the listener closes the rendezvous or its control channel without answering', async () => {
    const {ws, inbox} = await listen(h)
    const first = send(h.https('hc1/a'), h.ca, {method: 'POST', headers: {ServiceBusAuthorization: sendToken()}, body: randomBytes(70 * 1024)})
    const {request} = await inbox.json<{request: RequestCommand}>()
    const rv = await open(request.address, h.ca)
    await new Inbox(rv).next() // the request arrives, then the listener gives up
    rv.close(1000)
    assert.equal((await first).status, 502)
    const second = send(h.https('hc1/b'), h.ca, {headers: {ServiceBusAuthorization: sendToken()}})
    await inbox.json()
    ws.terminate()
    const reply = await second
    assert.equal(reply.status, 502)
    assert.equal((JSON.parse(reply.body.toString()) as {error: {code: string}}).error.code, 'ListenerDisconnected')
  })

  it('answers 502 when the listener\'s response headers cannot be forwarded', async () => {
    const {ws, inbox} = await listen(h)
    const replyPromise = send(h.https('hc1/x'), h.ca, {headers: {ServiceBusAuthorization: sendToken()}})
    const {request} = await inbox.json<{request: RequestCommand}>()
    ws.send(JSON.stringify({response: {requestId: request.id, statusCode: 200, responseHeaders: {'X-Bad': 'caf\u00e9\u0100'}, body: false}}))
    const reply = await replyPromise
    assert.equal(reply.status, 502)
    ws.terminate()
  })
})
