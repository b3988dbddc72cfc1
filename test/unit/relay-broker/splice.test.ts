import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {connect, createServer, type Server, type Socket} from 'node:net'

import {spliceWebSockets, type Splice} from '../../../src/emulator/relay/splice.js'
import {closeFrame, websocketAccept} from '../../../src/lib/relay/frames.js'

/**
 * The broker's frame splice, fed raw client frames over loopback TCP (whole, split byte by
 * byte, and malformed) and read back as raw server frames.
 */

interface Frame {
  fin: boolean
  opcode: number
  masked: boolean
  payload: Buffer
}

/** A masked client frame, as a browser or `ws` would send it. */
function clientFrame(opcode: number, payload: Buffer, {fin = true, mask = Buffer.from([0x12, 0x34, 0x56, 0x78]), masked = true} = {}): Buffer {
  const len = payload.length
  const ext = len < 126 ? Buffer.alloc(0) : len < 65536 ? Buffer.alloc(2) : Buffer.alloc(8)
  if (len >= 126 && len < 65536) ext.writeUInt16BE(len)
  if (len >= 65536) ext.writeBigUInt64BE(BigInt(len))
  const first = Buffer.from([(fin ? 0x80 : 0) | opcode, (masked ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127)])
  const body = Buffer.from(payload)
  if (masked) for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!
  return Buffer.concat([first, ext, masked ? mask : Buffer.alloc(0), body])
}

function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(code)
  return Buffer.concat([b, Buffer.from(reason)])
}

/** Reads server frames from a raw socket. */
class FrameReader {
  private buf = Buffer.alloc(0)
  private frames: Frame[] = []
  private waiters: Array<() => void> = []
  ended = false

  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d])
      this.parse()
    })
    socket.on('close', () => {
      this.ended = true
      this.wake()
    })
  }

  private parse(): void {
    for (;;) {
      if (this.buf.length < 2) return
      const masked = (this.buf[1]! & 0x80) !== 0
      let len = this.buf[1]! & 0x7f
      let at = 2
      if (len === 126) {
        if (this.buf.length < 4) return
        len = this.buf.readUInt16BE(2)
        at = 4
      } else if (len === 127) {
        if (this.buf.length < 10) return
        len = Number(this.buf.readBigUInt64BE(2))
        at = 10
      }
      if (masked) at += 4
      if (this.buf.length < at + len) return
      this.frames.push({fin: (this.buf[0]! & 0x80) !== 0, opcode: this.buf[0]! & 0x0f, masked, payload: Buffer.from(this.buf.subarray(at, at + len))})
      this.buf = this.buf.subarray(at + len)
      this.wake()
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  async next(): Promise<Frame> {
    for (;;) {
      const f = this.frames.shift()
      if (f) return f
      if (this.ended) throw new Error('the connection closed before the next frame')
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }

  async closed(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => this.waiters.push(resolve))
  }
}

interface Pair {
  a: Socket
  b: Socket
  ra: FrameReader
  rb: FrameReader
  splice: Splice
  closed: Promise<void>
}

describe('relay broker: frame splice (and the shared frame codec)', () => {
  let server: Server
  let pending: Array<(s: Socket) => void> = []
  const open: Socket[] = []

  before(async () => {
    // allowHalfOpen, as the sockets an http server hands to its 'upgrade' listeners are.
    server = createServer({allowHalfOpen: true}, (s) => pending.shift()?.(s))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
  })
  after(() => server.close())
  afterEach(() => {
    for (const s of open.splice(0)) s.destroy()
    pending = []
  })

  async function pair(options: {closeTimeoutMs?: number} = {}): Promise<Pair> {
    const {port} = server.address() as {port: number}
    const accepted = (): Promise<Socket> => new Promise((resolve) => pending.push(resolve))
    const serverA = accepted()
    const a = connect(port, '127.0.0.1')
    const sa = await serverA
    const serverB = accepted()
    const b = connect(port, '127.0.0.1')
    const sb = await serverB
    open.push(a, b, sa, sb)
    let onClosed!: () => void
    const closed = new Promise<void>((resolve) => (onClosed = resolve))
    const splice = spliceWebSockets(sa, Buffer.alloc(0), sb, Buffer.alloc(0), {onClosed, ...options})
    return {a, b, ra: new FrameReader(a), rb: new FrameReader(b), splice, closed}
  }

  it('computes the RFC 6455 accept value', () => {
    assert.equal(websocketAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' /* RFC 6455 §1.3 */)
  })

  it('streams data frames unmasked with opcode and FIN kept, even when fed one byte at a time', async () => {
    const {a, ra, rb} = await pair()
    const text = Buffer.from('héllo, relay')
    const bin = Buffer.from(Array.from({length: 70_000}, (_, i) => i % 251))
    const wire = Buffer.concat([
      clientFrame(1, text.subarray(0, 5), {fin: false}),
      clientFrame(9, Buffer.from('are you there')), // a ping between the fragments
      clientFrame(0, text.subarray(5)),
      clientFrame(2, bin),
      clientFrame(2, Buffer.alloc(0)),
    ])
    for (let i = 0; i < 200; i++) a.write(wire.subarray(i, i + 1)) // split headers and payloads
    a.write(wire.subarray(200))
    const f1 = await rb.next()
    assert.deepEqual([f1.fin, f1.opcode, f1.masked], [false, 1, false])
    assert.deepEqual(f1.payload, text.subarray(0, 5))
    const f2 = await rb.next()
    assert.deepEqual([f2.fin, f2.opcode, f2.masked], [true, 0, false])
    assert.deepEqual(f2.payload, text.subarray(5))
    const f3 = await rb.next()
    assert.deepEqual([f3.fin, f3.opcode, f3.masked], [true, 2, false])
    assert.ok(f3.payload.equals(bin), 'the 70 000-byte payload arrives unmasked and intact')
    const f4 = await rb.next()
    assert.deepEqual([f4.opcode, f4.payload.length], [2, 0])
    const pong = await ra.next()
    assert.deepEqual([pong.opcode, pong.masked, pong.payload.toString()], [10, false, 'are you there'])
  })

  it('passes zero-key frames through without touching the payload, in both directions', async () => {
    const {a, b, ra, rb} = await pair()
    const zero = Buffer.alloc(4)
    a.write(clientFrame(2, Buffer.from('from a'), {mask: zero}))
    b.write(clientFrame(2, Buffer.from('from b'), {mask: zero}))
    assert.equal((await rb.next()).payload.toString(), 'from a')
    assert.equal((await ra.next()).payload.toString(), 'from b')
  })

  it('half-close: forwards a Close without answering it; the other direction flows until that leg closes too', async () => {
    const {a, b, ra, rb, closed} = await pair()
    a.write(clientFrame(8, closePayload(4000, 'bye now')))
    const forwarded = await rb.next()
    assert.deepEqual([forwarded.opcode, forwarded.payload.readUInt16BE(0), forwarded.payload.subarray(2).toString()], [8, 4000, 'bye now'])
    // b is still heard: its data reaches a, which has had no Close yet.
    const late = Buffer.alloc(100_000, 3)
    b.write(clientFrame(2, late))
    const data = await ra.next()
    assert.equal(data.opcode, 2)
    assert.ok(data.payload.equals(late), 'the half-closed leg still receives the other direction')
    b.write(clientFrame(8, closePayload(1000, 'Shutdown')))
    const answer = await ra.next()
    assert.deepEqual([answer.opcode, answer.payload.readUInt16BE(0), answer.payload.subarray(2).toString()], [8, 1000, 'Shutdown'])
    await Promise.all([ra.closed(), rb.closed(), closed])
  })

  it('forwards a Close without a code as 1000, and drops data that follows a Close', async () => {
    const {a, b, ra, rb} = await pair()
    a.write(Buffer.concat([clientFrame(8, Buffer.alloc(0)), clientFrame(2, Buffer.from('too late'))]))
    const forwarded = await rb.next()
    assert.deepEqual([forwarded.opcode, forwarded.payload.readUInt16BE(0)], [8, 1000])
    b.write(clientFrame(8, closePayload(1000)))
    assert.equal((await ra.next()).opcode, 8, 'b\'s Close is the answer to a\'s; "too late" never arrived')
    await Promise.all([ra.closed(), rb.closed()])
  })

  it('ends a half-closed pair whose other leg never answers, after the close timeout', async () => {
    const {a, ra, rb, closed} = await pair({closeTimeoutMs: 300})
    a.write(clientFrame(8, closePayload(1000, 'Shutdown')))
    assert.equal((await rb.next()).opcode, 8)
    // b never answers: both legs end; a is told 1001.
    const toA = await ra.next()
    assert.deepEqual([toA.opcode, toA.payload.readUInt16BE(0)], [8, 1001])
    await Promise.all([ra.closed(), rb.closed(), closed])
  })

  it('the close timeout counts silence: a half-closed pair that keeps moving stays open', async () => {
    const {a, b, ra, rb} = await pair({closeTimeoutMs: 400})
    a.write(clientFrame(8, closePayload(1000, 'Shutdown')))
    assert.equal((await rb.next()).opcode, 8)
    // Two timeouts' worth of steady traffic from b: every frame arrives, no Close to a.
    for (let i = 0; i < 8; i++) {
      b.write(clientFrame(2, Buffer.from(`piece ${i}`)))
      assert.equal((await ra.next()).payload.toString(), `piece ${i}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    b.write(clientFrame(8, closePayload(1000)))
    assert.deepEqual([(await ra.next()).opcode], [8])
    await ra.closed()
  })

  it('tells the other leg 1001 when a leg drops without a Close', async () => {
    const {a, b, rb, closed} = await pair()
    a.destroy()
    const f = await rb.next()
    assert.deepEqual([f.opcode, f.payload.readUInt16BE(0)], [8, 1001])
    b.write(clientFrame(8, closePayload(1001)))
    await closed
  })

  it('a leg that half-closes (FIN) without a Close is gone: the other leg hears 1001 and both connections end', async () => {
    const {a, b, rb, closed} = await pair()
    a.end()
    const f = await rb.next()
    assert.deepEqual([f.opcode, f.payload.readUInt16BE(0)], [8, 1001])
    b.write(clientFrame(8, closePayload(1001)))
    await closed
  })

  it('closes a leg that sends an unmasked frame with 1002 and tells the other 1001', async () => {
    const {a, ra, rb} = await pair()
    a.write(clientFrame(2, Buffer.from('plain'), {masked: false}))
    const toA = await ra.next()
    assert.deepEqual([toA.opcode, toA.payload.readUInt16BE(0)], [8, 1002])
    assert.match(toA.payload.subarray(2).toString(), /masked/)
    const toB = await rb.next()
    assert.deepEqual([toB.opcode, toB.payload.readUInt16BE(0)], [8, 1001])
  })

  it('holds a control frame for a leg until the data frame streaming to it is complete', async () => {
    const {a, b, ra, rb} = await pair()
    const payload = Buffer.alloc(1000, 7)
    const frame = clientFrame(2, payload)
    b.write(frame.subarray(0, 500)) // half a frame from b is on its way to a
    await new Promise<void>((resolve) => a.once('data', () => resolve()))
    a.write(clientFrame(9, Buffer.from('ping'))) // a's pong must not land inside that frame
    b.write(frame.subarray(500))
    const data = await ra.next()
    assert.equal(data.opcode, 2)
    assert.ok(data.payload.equals(payload))
    const pong = await ra.next()
    assert.deepEqual([pong.opcode, pong.payload.toString()], [10, 'ping'])
    assert.equal(rb.ended, false)
  })

  it('close() sends both legs a Close with the given code and cuts legs that never answer', async () => {
    const {ra, rb, splice} = await pair()
    const done = splice.close(1001, 'The relay is shutting down', 200)
    const [fa, fb] = await Promise.all([ra.next(), rb.next()])
    for (const f of [fa, fb]) assert.deepEqual([f.opcode, f.payload.readUInt16BE(0), f.payload.subarray(2).toString()], [8, 1001, 'The relay is shutting down'])
    await done
  })

  it('builds Close frames whose reason fits the 123 bytes a Close allows', () => {
    const f = closeFrame(1000, 'x'.repeat(300))
    assert.equal(f[1], 125)
  })
})
