import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {type AddressInfo, connect, createServer, type Server, type Socket} from 'node:net'

import {closeFrame, FrameReader, frame, Opcode} from '../../../src/lib/relay/frames.js'
import {relayStream} from '../../../src/lib/relay/stream.js'

/** A relay stream over loopback TCP, with a raw far side that writes server frames and reads ours. */
async function setup(): Promise<{far: Socket; farData: () => string; farCloses: number[]; stream: ReturnType<typeof relayStream>; server: Server}> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const farP = once(server, 'connection') as Promise<[Socket]>
  const near = connect((server.address() as AddressInfo).port, '127.0.0.1')
  await once(near, 'connect')
  const [far] = await farP
  far.on('error', () => {})
  const chunks: Buffer[] = []
  const farCloses: number[] = []
  const reader = new FrameReader(true, {
    onPayload: (p) => chunks.push(Buffer.from(p)),
    onControl: (op, payload) => op === Opcode.close && farCloses.push(payload.readUInt16BE(0)),
    onError: (e) => assert.fail(e.code),
  })
  far.on('data', (d: Buffer) => reader.push(d))
  return {far, farData: () => Buffer.concat(chunks).toString(), farCloses, stream: relayStream({socket: near, head: Buffer.alloc(0), protocol: ''}), server}
}

describe('relay stream (a tunnel to an in-memory pipe)', () => {
  it('half-closes both ways: the peer\'s Close ends reading, writing goes on until end(), which sends Close 1000', async () => {
    const {far, farData, farCloses, stream, server} = await setup()
    const got: Buffer[] = []
    stream.on('data', (d: Buffer) => got.push(d))
    far.write(frame(Opcode.binary, Buffer.from('request')))
    far.write(closeFrame(1000, 'Shutdown'))
    await once(stream, 'end')
    assert.equal(Buffer.concat(got).toString(), 'request')
    assert.equal(stream.tunnel.state(), 'half-closed-remote')
    stream.end('answer after the peer closed')
    const stats = await stream.tunnel.done
    assert.equal(farData(), 'answer after the peer closed')
    assert.deepEqual(farCloses, [1000])
    assert.equal(stats.error, undefined)
    server.close()
  })

  it('an abnormal close destroys the stream with the relay\'s code and reason', async () => {
    const {far, stream, server} = await setup()
    const failed = once(stream, 'error') as Promise<[Error]>
    far.write(closeFrame(1011, 'service error'))
    const [error] = await failed
    assert.match(error.message, /relay closed 1011 service error/)
    server.close()
  })
})
