import {strict as assert} from 'node:assert'
import {EventEmitter} from 'node:events'

import {PUBLIC_CLOUDS} from '../../../src/lib/azure/clouds.js'
import {roundTripConnect, roundTripProbe, type RoundTripContext} from '../../../src/lib/diagnose/check/roundtrip.js'
import {roundTrip} from '../../../src/lib/diagnose/roundtrip.js'
import {RelayError} from '../../../src/lib/relay/errors.js'
import type {SenderConnection} from '../../../src/lib/relay/sender.js'

/** A fake sender socket: answers each message with `reply(text)`, and a half-close with `onShutdown()`. */
function fakeConnection(reply: (text: string) => string | undefined, onShutdown?: () => string): SenderConnection {
  const ws = new EventEmitter() as EventEmitter & {send(b: Buffer): void; terminate(): void; close(code?: number, reason?: string): void}
  ws.send = (b: Buffer) => {
    const answer = reply(b.toString('utf8'))
    if (answer !== undefined) setImmediate(() => ws.emit('message', Buffer.from(answer)))
  }
  ws.terminate = () => {}
  ws.close = (code, reason) => {
    if (!onShutdown || code !== 1000 || reason !== 'Shutdown') return
    // The endpoint sees EOF, answers, and closes its side: the answer, then the peer's Close.
    setImmediate(() => {
      ws.emit('message', Buffer.from(onShutdown()))
      ws.emit('close', 1000, Buffer.from('Shutdown'))
    })
  }
  return {ws, id: 'x', host: 'ns.servicebus.windows.net', entity: 'hc'} as unknown as SenderConnection
}

const base = {cloud: PUBLIC_CLOUDS.AzureCloud!, namespace: 'ns', hybridConnection: 'hc', keyName: 'defaultSender', key: 'k', timeoutMs: 200}

describe('round trip (fake relay)', () => {
  it('accepted attempts with an HTTP probe: HEAD goes out with the endpoint as Host, a status line comes back', async () => {
    const seen: string[] = []
    const r = await roundTrip({
      ...base,
      attempts: 2,
      probe: 'http',
      httpHost: 'db01:80',
      connect: async (o) => {
        assert.equal(o.headers['x-hcctl-probe'], `check-${seen.length + 1}`)
        return fakeConnection((t) => {
          seen.push(t)
          return 'HTTP/1.1 200 OK\r\n\r\n'
        })
      },
    })
    assert.deepEqual([r.accepted, r.probesOk], [2, 2])
    assert.match(seen[0]!, /^HEAD \/ HTTP\/1\.1\r\nHost: db01:80\r\n/)
  })

  it('a send probe half-closes when no answer came: an endpoint that answers only after EOF (like wc -c) is probed', async () => {
    let bytes = 0
    const r = await roundTrip({
      ...base,
      timeoutMs: 5000,
      attempts: 1,
      send: 'hello',
      expect: /^5\n$/,
      connect: async () =>
        fakeConnection(
          (t) => {
            bytes += Buffer.byteLength(t)
            return undefined // nothing before EOF
          },
          () => `${bytes}\n`,
        ),
    })
    assert.equal(r.probesOk, 1, JSON.stringify(r.attempts[0]?.probe))
    assert.equal(r.attempts[0]!.probe!.answer, '5\n')
  })

  it('a rejection keeps the agent status and reason; a probe without a matching answer fails after the timeout', async () => {
    let n = 0
    const r = await roundTrip({
      ...base,
      attempts: 3,
      send: 'PING',
      expect: /PONG/,
      connect: async () => {
        if (++n === 2) throw new RelayError('RejectedByListener', 'rejected', {status: 502, reason: 'connect ECONNREFUSED db01:1433 from agent on host box'})
        return fakeConnection(() => 'NOPE')
      },
    })
    assert.equal(r.accepted, 2)
    assert.deepEqual([r.attempts[1]!.status, r.attempts[1]!.reason, r.attempts[1]!.code], [502, 'connect ECONNREFUSED db01:1433 from agent on host box', 'RejectedByListener'])
    assert.equal(r.probesOk, 0)
    assert.match(r.attempts[0]!.probe!.error!, /does not match/)
  })

  it('the checks: a ratio and the agent\'s reason as evidence; partial probe success is a warning', async () => {
    let n = 0
    const ctx: RoundTripContext = {
      cloud: base.cloud,
      namespace: 'ns',
      hybridConnection: 'hc',
      now: Date.now,
      timeoutMs: 200,
      sendKey: {name: 'defaultSender', value: 'k', source: "the app's own key"},
      listenerCount: 2,
      endpoint: {host: 'db01', port: 1433},
      roundTrip: {
        send: 'PING',
        expect: /PONG/,
        connect: async () => {
          n++
          if (n === 3) throw new RelayError('RejectedByListener', 'rejected', {status: 502, reason: 'connect ECONNREFUSED db01:1433 from agent on host box'})
          return fakeConnection(() => (n === 1 ? 'PONG' : 'NOPE'))
        },
      },
      names: {agent: 'hcctl agent hc --namespace ns --resource-group rg'},
    }
    const connect = await roundTripConnect.run(ctx)
    assert.equal(connect.status, 'fail')
    assert.match(connect.evidence[0]!, /^3\/4 accepted \(75%\) with the app's own key$/)
    assert.ok(connect.evidence.includes('1× HTTP 502 connect ECONNREFUSED db01:1433 from agent on host box'))
    assert.match(connect.remedy!, /Some attempts succeeded: with several agents, one of them cannot reach the endpoint/)
    const probe = await roundTripProbe.run(ctx)
    assert.equal(probe.status, 'warn')
    assert.match(probe.evidence[0]!, /^1\/3: the answer matched \/PONG\//)
  })
})
