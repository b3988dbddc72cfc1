import {strict as assert} from 'node:assert'

import {closeFrame, type FrameError, type FrameHeader, FrameReader, frame, frameHeader, Opcode} from '../../../src/lib/relay/frames.js'

/**
 * The frame reader (a state machine in the manner of ws's receiver), fed whole streams, one byte
 * at a time, split at every offset, and malformed streams that must fail with stable codes.
 */

interface Event {
  kind: 'start' | 'payload' | 'end' | 'control' | 'error'
  header?: Pick<FrameHeader, 'fin' | 'opcode' | 'length'>
  data?: Buffer
  opcode?: number
  error?: FrameError
}

function collect(fromClient: boolean): {reader: FrameReader; events: Event[]; data: () => Buffer} {
  const events: Event[] = []
  const reader = new FrameReader(fromClient, {
    onFrameStart: (h) => events.push({kind: 'start', header: {fin: h.fin, opcode: h.opcode, length: h.length}}),
    onPayload: (piece) => events.push({kind: 'payload', data: Buffer.from(piece)}),
    onFrameEnd: () => events.push({kind: 'end'}),
    onControl: (opcode, payload) => events.push({kind: 'control', opcode, data: payload}),
    onError: (error) => events.push({kind: 'error', error}),
  })
  const data = () => Buffer.concat(events.filter((e) => e.kind === 'payload').map((e) => e.data!))
  return {reader, events, data}
}

/** A client frame masked with a real key, as browsers and `ws` send them. */
function masked(opcode: number, payload: Buffer, {fin = true, key = Buffer.from([0xa1, 0xb2, 0xc3, 0xd4])} = {}): Buffer {
  const header = frameHeader(opcode, payload.length, {fin, masked: true})
  header.set(key, header.length - 4)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!
  return Buffer.concat([header, body])
}

/** A summary that ignores how payloads were split. */
function shape(events: Event[]): string[] {
  const out: string[] = []
  for (const e of events) {
    if (e.kind === 'payload') continue
    if (e.kind === 'start') out.push(`start ${e.header!.opcode} fin=${e.header!.fin} len=${e.header!.length}`)
    else if (e.kind === 'end') out.push('end')
    else if (e.kind === 'control') out.push(`control ${e.opcode} ${e.data!.toString('hex')}`)
    else out.push(`error ${e.error!.code}`)
  }
  return out
}

const big = Buffer.from(Array.from({length: 70_000}, (_, i) => (i * 7) % 256))
const stream = Buffer.concat([
  masked(Opcode.text, Buffer.from('héllo'), {fin: false}),
  masked(Opcode.ping, Buffer.from('ping!')), // a control frame between fragments
  masked(Opcode.continuation, Buffer.from(', relay')),
  masked(Opcode.binary, Buffer.alloc(0)),
  masked(Opcode.binary, Buffer.alloc(300, 5)), // 16-bit length
  masked(Opcode.binary, big, {key: Buffer.alloc(4)}), // 64-bit length, zero key
  masked(Opcode.close, Buffer.from([0x03, 0xe8])),
])
const expectedData = Buffer.concat([Buffer.from('héllo, relay'), Buffer.alloc(300, 5), big])
const expectedShape = [
  'start 1 fin=false len=6',
  'end',
  `control 9 ${Buffer.from('ping!').toString('hex')}`,
  'start 0 fin=true len=7',
  'end',
  'start 2 fin=true len=0',
  'end',
  'start 2 fin=true len=300',
  'end',
  'start 2 fin=true len=70000',
  'end',
  'control 8 03e8',
]

describe('relay frames: the frame reader', () => {
  it('reads a whole stream: fragments, control frames between them, 7/16/64-bit lengths, masks', () => {
    const c = collect(true)
    c.reader.push(Buffer.from(stream)) // the reader unmasks in place: each test feeds a copy
    assert.deepEqual(shape(c.events), expectedShape)
    assert.ok(c.data().equals(expectedData))
    assert.equal(c.reader.state, 'info')
  })

  it('reads the same stream fed one byte at a time', () => {
    const c = collect(true)
    const copy = Buffer.from(stream)
    for (let i = 0; i < copy.length; i++) c.reader.push(copy.subarray(i, i + 1))
    assert.deepEqual(shape(c.events), expectedShape)
    assert.ok(c.data().equals(expectedData))
  })

  it('reads it split at every offset of the first 400 bytes (headers, masks and lengths cut anywhere)', () => {
    for (let cut = 1; cut < 400; cut++) {
      const c = collect(true)
      const copy = Buffer.from(stream)
      c.reader.push(copy.subarray(0, cut))
      c.reader.push(copy.subarray(cut))
      assert.deepEqual(shape(c.events), expectedShape, `cut at ${cut}`)
      assert.ok(c.data().equals(expectedData), `data, cut at ${cut}`)
    }
  })

  it('names its states while a frame arrives', () => {
    const c = collect(false)
    const f = frame(Opcode.binary, Buffer.alloc(70_000, 1))
    const states: string[] = []
    // 1 byte, the 2nd byte (length code 127), the 8 length bytes, then some payload
    for (const [from, to] of [[0, 1], [1, 2], [2, 10], [10, 110]] as const) {
      c.reader.push(f.subarray(from, to))
      states.push(c.reader.state)
    }
    assert.deepEqual(states, ['info', 'length64', 'payload', 'payload'])
    const m = collect(true)
    m.reader.push(masked(Opcode.binary, Buffer.alloc(10)).subarray(0, 4))
    assert.equal(m.reader.state, 'mask')
    const ctl = collect(false)
    ctl.reader.push(frame(Opcode.ping, Buffer.from('abc')).subarray(0, 3))
    assert.equal(ctl.reader.state, 'control')
  })

  it('reads server frames (unmasked) the same way', () => {
    const c = collect(false)
    const wire = Buffer.concat([frame(Opcode.binary, Buffer.from('one')), closeFrame(1000, 'Shutdown')])
    for (let i = 0; i < wire.length; i++) c.reader.push(wire.subarray(i, i + 1))
    assert.deepEqual(shape(c.events), ['start 2 fin=true len=3', 'end', `control 8 ${Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('Shutdown')]).toString('hex')}`])
  })

  it('ignores everything after stop() (what follows a Close)', () => {
    const c = collect(false)
    c.reader.push(frame(Opcode.binary, Buffer.from('a')))
    c.reader.stop()
    c.reader.push(frame(Opcode.binary, Buffer.from('b')))
    assert.equal(c.data().toString(), 'a')
    assert.equal(c.reader.state, 'stopped')
  })

  const malformed: Array<[string, boolean, Buffer, string]> = [
    ['RSV bits', true, Buffer.from([0xc2, 0x80, 0, 0, 0, 0]), 'RSV_BITS'],
    ['opcode 3', true, Buffer.from([0x83, 0x80, 0, 0, 0, 0]), 'UNKNOWN_OPCODE'],
    ['opcode 11', false, Buffer.from([0x8b, 0x00]), 'UNKNOWN_OPCODE'],
    ['an unmasked client frame', true, frame(Opcode.binary, Buffer.from('x')), 'MASK_REQUIRED'],
    ['a masked server frame', false, masked(Opcode.binary, Buffer.from('x')), 'MASK_FORBIDDEN'],
    ['a length beyond 2^53', false, Buffer.from([0x82, 127, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), 'LENGTH_OVERFLOW'],
    ['a 126-byte ping', true, masked(Opcode.ping, Buffer.alloc(126)), 'BAD_CONTROL_FRAME'],
    ['a fragmented Close', true, masked(Opcode.close, Buffer.alloc(2), {fin: false}), 'BAD_CONTROL_FRAME'],
    ['a continuation with nothing to continue', false, frame(Opcode.continuation, Buffer.from('x')), 'UNEXPECTED_CONTINUATION'],
    ['a new message inside a fragmented one', false, Buffer.concat([frameHeader(Opcode.text, 1, {fin: false}), Buffer.from('a'), frame(Opcode.binary, Buffer.from('b'))]), 'EXPECTED_CONTINUATION'],
  ]
  for (const [name, fromClient, wire, code] of malformed) {
    it(`fails with ${code} on ${name}, fed whole or byte by byte, and reads nothing after`, () => {
      for (const split of [false, true]) {
        const c = collect(fromClient)
        const withTail = Buffer.concat([wire, fromClient ? masked(Opcode.binary, Buffer.from('after')) : frame(Opcode.binary, Buffer.from('after'))])
        if (split) for (let i = 0; i < withTail.length; i++) c.reader.push(withTail.subarray(i, i + 1))
        else c.reader.push(withTail)
        const errors = c.events.filter((e) => e.kind === 'error')
        assert.equal(errors.length, 1, `one error (${split ? 'byte by byte' : 'whole'})`)
        assert.equal(errors[0]!.error!.code, code)
        assert.ok(errors[0]!.error!.message.length > 0)
        assert.equal(c.reader.state, 'failed')
        assert.ok(!c.data().toString().includes('after'), 'nothing is read after the error')
      }
    })
  }
})
