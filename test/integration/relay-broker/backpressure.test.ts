import {strict as assert} from 'node:assert'
import {createHash, randomBytes} from 'node:crypto'

import type {AcceptCommand} from '../../../src/lib/relay/protocol.js'
import {listen, open, startRelay, type Harness} from './harness.js'

/**
 * Resolves once `read()` has passed `floor` and then not changed for `quietMs` (the flow has
 * stalled), or after `maxMs`. There is no event for "nothing more happens", hence the polling.
 * `maxMs` is generous: on a loaded 2-core machine the sender and the broker share this process,
 * and encrypting the 32 MB burst alone can hold the event loop for seconds before the flow starts.
 */
async function settled(read: () => number, floor: number, quietMs = 250, maxMs = 60_000): Promise<number> {
  const started = Date.now()
  let last = -1
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs))
    const now = read()
    if ((now > floor && now === last) || Date.now() - started > maxMs) return now
    last = now
  }
}

describe('relay broker: backpressure', function () {
  this.timeout(120_000)
  let h: Harness
  beforeEach(async () => {
    h = await startRelay()
  })
  afterEach(async () => {
    await h.close()
  })

  it('a slow reader pauses the sender instead of making the broker buffer without bound; nothing is lost on resume', async () => {
    const {inbox} = await listen(h)
    const senderPromise = open(h.wss('hc1', {'sb-hc-action': 'connect'}), h.ca, {headers: {ServiceBusAuthorization: h.token('hc1', 'defaultSender')}})
    const {accept} = await inbox.json<{accept: AcceptCommand}>()
    const reader = await open(accept.address, h.ca)
    const sender = await senderPromise
    reader.pause() // the slow consumer: it stops reading its socket

    const chunk = randomBytes(256 * 1024)
    const count = 128 // 32 MB
    const total = chunk.length * count
    const sent = createHash('sha256')
    for (let i = 0; i < count; i++) {
      chunk[0] = i
      sent.update(chunk)
      sender.send(Buffer.from(chunk))
    }
    // What the broker has read from the sender's connection: bounded by its high-water mark plus
    // the kernel buffers of the stalled leg, not by what the sender wants to send.
    const senderSide = h.serverSocket((sender as unknown as {_socket: {localPort: number}})._socket.localPort)
    assert.ok(senderSide, 'the server side of the sender connection')
    const taken = await settled(() => senderSide.bytesRead, 256 * 1024)
    assert.ok(taken < 16 * 1024 * 1024, `the broker took ${(taken / 1048576).toFixed(1)} MB from a sender whose reader is stalled`)
    assert.ok(taken > 256 * 1024, 'data did flow until the reader stalled')

    const received = createHash('sha256')
    let bytes = 0
    const done = new Promise<void>((resolve) => {
      reader.on('message', (data: Buffer) => {
        received.update(data)
        bytes += data.length
        if (bytes === total) resolve()
      })
    })
    reader.resume()
    await done
    assert.equal(received.digest('hex'), sent.digest('hex'))
    sender.terminate()
    reader.terminate()
  })
})
