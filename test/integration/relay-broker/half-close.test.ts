import {strict as assert} from 'node:assert'
import {createHash, randomBytes} from 'node:crypto'
import {once} from 'node:events'

import {closeFrame, FrameReader, frame, Opcode} from '../../../src/lib/relay/frames.js'
import {credentialsFromKey} from '../../../src/lib/relay/credentials.js'
import {type AcceptRequest, RelayListener} from '../../../src/lib/relay/listener.js'
import type {AcceptCommand} from '../../../src/lib/relay/protocol.js'
import {openRawWebSocket, type RawWebSocket} from '../../../src/lib/relay/raw-websocket.js'
import {openSenderRaw} from '../../../src/lib/relay/sender.js'
import {relayStream} from '../../../src/lib/relay/stream.js'
import {KEYS, listen, startRelay, type Harness} from './harness.js'

/**
 * Half-close through the broker alone (relay-protocol.md §3.3), with two raw frame-level
 * clients (a sender and the listener's rendezvous) that write frames by hand and read them with
 * the frame reader: a Close is forwarded to the other leg, the other direction keeps flowing
 * until that leg's own Close, and a half-closed pair that stays silent is ended.
 */

interface RawPeer {
  ws: RawWebSocket
  send(data: Buffer): void
  close(code: number, reason: string): void
  /** Payload bytes received so far. */
  received(): Buffer
  closes: Array<{code: number; reason: string}>
  /** Resolves when the peer has received `bytes` payload bytes, or a Close. */
  until(bytes: number): Promise<void>
  /** The first Close not yet returned (waits for it). */
  nextClose(): Promise<{code: number; reason: string}>
  ended: Promise<void>
}

function rawPeer(ws: RawWebSocket): RawPeer {
  const chunks: Buffer[] = []
  let size = 0
  const closes: Array<{code: number; reason: string}> = []
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const w of [...waiters]) w()
  }
  const reader = new FrameReader(false, {
    onPayload: (p) => {
      chunks.push(Buffer.from(p))
      size += p.length
      wake()
    },
    onControl: (opcode, payload) => {
      if (opcode === Opcode.close) closes.push({code: payload.readUInt16BE(0), reason: payload.subarray(2).toString()})
      wake()
    },
    onError: (e) => assert.fail(`the broker sent a malformed frame: ${e.code}`),
  })
  ws.socket.on('data', (d: Buffer) => reader.push(d))
  ws.socket.on('error', () => {})
  if (ws.head.length > 0) reader.push(ws.head)
  const ended = new Promise<void>((resolve) => ws.socket.once('close', () => resolve()))
  let consumed = 0
  const wait = async (done: () => boolean) => {
    while (!done()) await new Promise<void>((r) => waiters.add(r)).finally(() => waiters.clear())
  }
  return {
    ws,
    send: (data) => ws.socket.write(frame(Opcode.binary, data, true)),
    close: (code, reason) => ws.socket.write(closeFrame(code, reason, true)),
    received: () => Buffer.concat(chunks),
    closes,
    until: (bytes) => wait(() => size >= bytes || closes.length > 0),
    async nextClose() {
      const index = consumed++
      await wait(() => closes.length > index)
      return closes[index]!
    },
    ended,
  }
}

async function rawPair(h: Harness): Promise<{sender: RawPeer; listener: RawPeer}> {
  const {inbox} = await listen(h)
  const transport = {ca: h.ca}
  const senderP = openRawWebSocket(h.wss('hc1', {'sb-hc-action': 'connect'}), {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}, timeoutMs: 10_000, transport})
  const {accept} = await inbox.json<{accept: AcceptCommand}>()
  const listenerWs = await openRawWebSocket(accept.address, {timeoutMs: 10_000, transport})
  return {sender: rawPeer(await senderP), listener: rawPeer(listenerWs)}
}

describe('relay broker: half-close between two raw frame-level clients', function () {
  let h: Harness
  afterEach(async () => {
    await h.close()
  })

  it('forwards the sender\'s Close, keeps the listener\'s direction flowing, and ends both after the listener\'s Close', async () => {
    h = await startRelay()
    const {sender, listener} = await rawPair(h)
    const request = randomBytes(200_000)
    sender.send(request)
    sender.close(1000, 'Shutdown')
    await listener.until(request.length)
    assert.deepEqual(await listener.nextClose(), {code: 1000, reason: 'Shutdown'})
    assert.ok(listener.received().equals(request), 'the request arrived whole before the Close')
    assert.deepEqual(sender.closes, [], 'the broker does not answer the sender\'s Close itself')
    // The answer flows after the sender's Close, in several frames.
    const answer = randomBytes(3 * 1024 * 1024)
    for (let off = 0; off < answer.length; off += 256 * 1024) listener.send(answer.subarray(off, off + 256 * 1024))
    listener.close(1000, 'Shutdown')
    assert.deepEqual(await sender.nextClose(), {code: 1000, reason: 'Shutdown'})
    assert.ok(sender.received().equals(answer), `the sender got the whole answer (${sender.received().length} of ${answer.length} bytes)`)
    await Promise.all([sender.ended, listener.ended])
  })

  it('the same the other way round: the listener closes first, the sender keeps sending', async () => {
    h = await startRelay()
    const {sender, listener} = await rawPair(h)
    listener.send(Buffer.from('hello, then FIN'))
    listener.close(1000, 'Shutdown')
    assert.deepEqual(await sender.nextClose(), {code: 1000, reason: 'Shutdown'})
    assert.equal(sender.received().toString(), 'hello, then FIN')
    const upload = randomBytes(1024 * 1024)
    sender.send(upload)
    sender.close(1000, 'Shutdown')
    assert.deepEqual(await listener.nextClose(), {code: 1000, reason: 'Shutdown'})
    assert.ok(listener.received().equals(upload))
    await Promise.all([sender.ended, listener.ended])
  })

  it('a half-closed pair whose other leg stays silent is ended after the broker\'s close timeout', async () => {
    h = await startRelay({closeTimeoutMs: 300})
    const {sender, listener} = await rawPair(h)
    sender.close(1000, 'Shutdown')
    assert.deepEqual(await listener.nextClose(), {code: 1000, reason: 'Shutdown'})
    // The listener never answers: both connections end, and the sender is told 1001.
    assert.equal((await sender.nextClose()).code, 1001)
    await Promise.all([sender.ended, listener.ended])
  })

  it('library streams (stream.ts): a sender that ends after its last byte reads the whole echo, then EOF', async () => {
    h = await startRelay()
    const host = `127.0.0.1:${h.port}`
    const transport = {ca: h.ca}
    const listener = new RelayListener({credentials: credentialsFromKey({host, entity: 'hc1', keyName: 'defaultListener', key: KEYS.listen}), transport})
    listener.on('accept', (req: AcceptRequest) => {
      // The echo ends its side when the sender's Close has arrived and everything is echoed.
      void req.acceptStream().then((s) => s.pipe(s))
    })
    await listener.start()
    try {
      const conn = await openSenderRaw(credentialsFromKey({host, entity: 'hc1', keyName: 'defaultSender', key: KEYS.send}), transport, {timeoutMs: 10_000})
      const stream = relayStream(conn.ws)
      const data = randomBytes(4 * 1024 * 1024)
      const hash = createHash('sha256')
      let got = 0
      stream.on('data', (d: Buffer) => {
        hash.update(d)
        got += d.length
      })
      const ended = once(stream, 'end')
      stream.end(data) // FIN at once: the echo must still come back whole
      await ended
      assert.equal(got, data.length)
      assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'))
      const stats = await stream.tunnel.done
      assert.deepEqual([stats.closedBy, stats.error, stats.closeCode], ['tcp', undefined, 1000])
    } finally {
      await listener.stop()
    }
  })
})
