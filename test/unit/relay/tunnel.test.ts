import {strict as assert} from 'node:assert'
import {createHash, randomBytes} from 'node:crypto'
import {once} from 'node:events'
import {createServer, connect, type AddressInfo, type Server, type Socket} from 'node:net'

import {type WebSocket, WebSocketServer} from 'ws'

import {closeFrame, FrameReader, frame, Opcode} from '../../../src/lib/relay/frames.js'
import {openRawWebSocket, type RawWebSocket} from '../../../src/lib/relay/raw-websocket.js'
import {BUFFER_BUDGET, MAX_HIGH_WATER_MARK, MIN_HIGH_WATER_MARK, pipeTunnel, sharedHighWaterMark} from '../../../src/lib/relay/tunnel.js'

/**
 * A connected WebSocket pair over loopback: [the side we tunnel, the far side]. The near side
 * is our raw client handshake; the far side is a `ws` server, an independent implementation
 * that checks our frames (masking, lengths, close codes) as a relay would.
 */
async function wsPair(): Promise<{near: RawWebSocket; far: WebSocket; close: () => Promise<void>}> {
  const wss = new WebSocketServer({port: 0, host: '127.0.0.1', perMessageDeflate: false})
  await once(wss, 'listening')
  const farP = once(wss, 'connection') as Promise<[WebSocket]>
  const near = await openRawWebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, {timeoutMs: 5000, transport: {}})
  const [far] = await farP
  return {near, far, close: () => new Promise<void>((r) => wss.close(() => r()))}
}

/** A TCP pair: [the side we tunnel, the application side]. `allowHalfOpen`: the application may write after our FIN. */
async function tcpPair(allowHalfOpen = false): Promise<{near: Socket; app: Socket; server: Server}> {
  const server = createServer({allowHalfOpen})
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const appP = once(server, 'connection') as Promise<[Socket]>
  const near = connect((server.address() as AddressInfo).port, '127.0.0.1')
  await once(near, 'connect')
  const [app] = await appP
  return {near, app, server}
}

function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex')
}

describe('relay tunnel (WebSocket ↔ TCP)', () => {
  it('shares one buffer budget among the open tunnels: a lone tunnel queues 1 MiB, many queue their share, never below 64 KiB', () => {
    assert.equal(sharedHighWaterMark(1), MAX_HIGH_WATER_MARK)
    assert.equal(sharedHighWaterMark(0), MAX_HIGH_WATER_MARK)
    assert.equal(sharedHighWaterMark(200), Math.floor(BUFFER_BUDGET / 200))
    assert.ok(200 * sharedHighWaterMark(200) <= BUFFER_BUDGET)
    assert.equal(sharedHighWaterMark(100_000), MIN_HIGH_WATER_MARK)
  })

  it('pumps bytes both ways, counts them, and closes in order when TCP ends', async () => {
    const w = await wsPair()
    const t = await tcpPair()
    const tunnel = pipeTunnel(w.near, t.near)
    const up = randomBytes(3 * 1024 * 1024 + 17)
    const down = randomBytes(2 * 1024 * 1024 + 5)
    // far side (the relay peer) collects what TCP sent
    const got: Buffer[] = []
    w.far.on('message', (d: Buffer) => got.push(d))
    const farClosed = once(w.far, 'close')
    // application side collects what the relay sent
    const appGot: Buffer[] = []
    t.app.on('data', (d: Buffer) => appGot.push(d))
    w.far.send(down)
    t.app.write(up)
    // wait until the app has the relay's bytes, then end
    while (Buffer.concat(appGot).length < down.length) await once(t.app, 'data')
    t.app.end()
    const [code] = (await farClosed) as [number]
    const stats = await tunnel.done
    assert.equal(code, 1000)
    assert.equal(sha(Buffer.concat(got)), sha(up))
    assert.equal(sha(Buffer.concat(appGot)), sha(down))
    assert.equal(stats.bytesToRelay, up.length)
    assert.equal(stats.bytesFromRelay, down.length)
    assert.equal(stats.closedBy, 'tcp')
    assert.ok(stats.durationMs >= 0)
    assert.equal(stats.error, undefined)
    t.server.close()
    await w.close()
  })

  it('when the relay side closes, TCP gets everything first and then EOF', async () => {
    const w = await wsPair()
    const t = await tcpPair()
    const tunnel = pipeTunnel(w.near, t.near)
    const data = randomBytes(1024 * 1024)
    const appGot: Buffer[] = []
    t.app.on('data', (d: Buffer) => appGot.push(d))
    const ended = once(t.app, 'end')
    for (let i = 0; i < 16; i++) w.far.send(data.subarray(i * 65536, (i + 1) * 65536))
    w.far.close(1000)
    await ended
    t.app.end()
    const stats = await tunnel.done
    assert.equal(sha(Buffer.concat(appGot)), sha(data))
    assert.equal(stats.closedBy, 'relay')
    t.server.close()
    await w.close()
  })

  it('backpressure: a TCP reader that stops makes the WebSocket socket pause (bounded buffering)', async () => {
    const w = await wsPair()
    const t = await tcpPair()
    const tunnel = pipeTunnel(w.near, t.near)
    t.app.pause() // the application does not read
    const chunk = randomBytes(256 * 1024)
    let sent = 0
    // push 32 MiB from the far side; it must stall well before it is all buffered near us
    const target = 32 * 1024 * 1024
    while (sent < target) {
      w.far.send(chunk)
      sent += chunk.length
      if (w.far.bufferedAmount > 4 * 1024 * 1024) break
    }
    // the far side could not flush everything: the near side stopped reading
    await new Promise((r) => setTimeout(r, 200))
    assert.ok(w.near.socket.isPaused(), 'the relay side is paused while TCP cannot take more')
    assert.ok(t.near.writableLength < 16 * 1024 * 1024, `TCP write queue stays bounded (${t.near.writableLength})`)
    // now read everything: all bytes arrive
    let received = 0
    t.app.on('data', (d: Buffer) => (received += d.length))
    t.app.resume()
    while (received < sent) await once(t.app, 'data')
    assert.equal(received, sent)
    tunnel.close()
    await tunnel.done
    t.server.close()
    await w.close()
  })

  it('backpressure: a slow relay makes the TCP socket pause', async () => {
    const w = await wsPair()
    const t = await tcpPair()
    const tunnel = pipeTunnel(w.near, t.near, {highWaterMark: 256 * 1024})
    w.far.pause() // the relay peer does not read
    const chunk = randomBytes(1024 * 1024)
    let paused = false
    for (let i = 0; i < 64 && !paused; i++) {
      t.app.write(chunk)
      await new Promise((r) => setImmediate(r))
      paused = t.near.isPaused()
    }
    await new Promise((r) => setTimeout(r, 100))
    assert.ok(t.near.isPaused(), 'TCP reading is paused while the WebSocket is backed up')
    assert.ok(w.near.socket.writableLength < 64 * 1024 * 1024)
    w.far.resume()
    tunnel.close()
    await tunnel.done
    t.server.close()
    await w.close()
  })

  it('closes both sides after the idle timeout', async () => {
    const w = await wsPair()
    const t = await tcpPair()
    const tunnel = pipeTunnel(w.near, t.near, {idleTimeoutMs: 150})
    const farClosed = once(w.far, 'close')
    const appEnded = once(t.app, 'end')
    t.app.on('end', () => t.app.end())
    const stats = await tunnel.done
    await farClosed
    await appEnded
    assert.equal(stats.closedBy, 'idle')
    assert.match(stats.error ?? '', /idle/)
    t.server.close()
    await w.close()
  })

  it('an abnormal relay close resets TCP and records the error', async () => {
    const w = await wsPair()
    const t = await tcpPair()
    const tunnel = pipeTunnel(w.near, t.near)
    t.app.on('error', () => {})
    const appClosed = once(t.app, 'close')
    w.far.close(1011, 'service error')
    const stats = await tunnel.done
    await appClosed
    assert.equal(stats.closedBy, 'error')
    assert.match(stats.error ?? '', /1011 service error/)
    t.server.close()
    await w.close()
  })

  it('a TCP reset closes the WebSocket with 1011', async () => {
    const w = await wsPair()
    const t = await tcpPair()
    const tunnel = pipeTunnel(w.near, t.near)
    const farClosed = once(w.far, 'close')
    t.app.resetAndDestroy()
    const [code] = (await farClosed) as [number]
    const stats = await tunnel.done
    assert.equal(code, 1011)
    assert.match(stats.error ?? '', /ECONNRESET/)
    t.server.close()
    await w.close()
  })

  it('aborting the signal closes with 1001', async () => {
    const w = await wsPair()
    const t = await tcpPair()
    const ac = new AbortController()
    const tunnel = pipeTunnel(w.near, t.near, {signal: ac.signal})
    const farClosed = once(w.far, 'close')
    t.app.on('end', () => t.app.end())
    ac.abort()
    const [code] = (await farClosed) as [number]
    assert.equal(code, 1001)
    assert.equal((await tunnel.done).closedBy, 'abort')
    t.server.close()
    await w.close()
  })

  it('streams text and binary frames of any size as bytes, and answers pings', async () => {
    const w = await wsPair()
    const t = await tcpPair()
    const tunnel = pipeTunnel(w.near, t.near)
    const big = randomBytes(200_000) // 64-bit length, many TLS-sized reads
    const expected = Buffer.concat([Buffer.from('text ✓'), Buffer.alloc(0), big, Buffer.from([1, 2, 3])])
    const appGot: Buffer[] = []
    t.app.on('data', (d: Buffer) => appGot.push(d))
    const pong = once(w.far, 'pong')
    w.far.send('text ✓')
    w.far.send(Buffer.alloc(0))
    w.far.ping(Buffer.from('hi'))
    w.far.send(big)
    w.far.send(Buffer.from([1, 2, 3]))
    const [payload] = (await pong) as [Buffer]
    assert.equal(payload.toString(), 'hi')
    while (Buffer.concat(appGot).length < expected.length) await once(t.app, 'data')
    assert.equal(sha(Buffer.concat(appGot)), sha(expected))
    tunnel.close()
    await tunnel.done
    t.server.close()
    await w.close()
  })

  it('reads the frames that came with the 101 answer, and treats a masked server frame as a protocol error', async () => {
    // A raw far side: frames split at odd places, then a frame a server must not send.
    const relay = await tcpPair()
    const t = await tcpPair()
    const first = Buffer.concat([Buffer.from([0x82, 5]), Buffer.from('hello')])
    const second = Buffer.concat([Buffer.from([0x82, 126, 0x01, 0x00]), Buffer.alloc(256, 9)])
    const tunnel = pipeTunnel({socket: relay.near, head: first.subarray(0, 4), protocol: ''}, t.near)
    const appGot: Buffer[] = []
    t.app.on('data', (d: Buffer) => appGot.push(d))
    t.app.on('error', () => {})
    const farGot: Buffer[] = []
    relay.app.on('data', (d: Buffer) => farGot.push(d))
    relay.app.write(first.subarray(4))
    relay.app.write(second.subarray(0, 3))
    relay.app.write(second.subarray(3))
    while (Buffer.concat(appGot).length < 5 + 256) await once(t.app, 'data')
    assert.equal(Buffer.concat(appGot).subarray(0, 5).toString(), 'hello')
    relay.app.write(Buffer.from([0x82, 0x81, 1, 2, 3, 4, 0]))
    const stats = await Promise.race([tunnel.done, once(relay.app, 'end').then(() => tunnel.done)])
    assert.equal(stats.closedBy, 'error')
    assert.match(stats.error ?? '', /must not be masked/)
    const close = Buffer.concat(farGot)
    assert.equal(close[0], 0x88, 'a Close frame')
    assert.equal(close[1]! & 0x80, 0x80, 'masked, as client frames are')
    assert.equal(close.readUInt16BE(6), 1002)
    relay.server.close()
    t.server.close()
  })

  it('a relay that sends FIN without a Close: the tunnel ends its side too, resets TCP and records 1006', async () => {
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const farP = once(server, 'connection') as Promise<[Socket]>
    // allowHalfOpen: Node would not end this side by itself; the tunnel must.
    const near = connect({port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true})
    await once(near, 'connect')
    const [far] = await farP
    const t = await tcpPair()
    t.app.on('error', () => {})
    const tunnel = pipeTunnel({socket: near, head: Buffer.alloc(0), protocol: ''}, t.near)
    far.end()
    const stats = await tunnel.done
    assert.equal(stats.closedBy, 'error')
    assert.equal(stats.closeCode, 1006)
    assert.match(stats.error ?? '', /1006/)
    server.close()
    t.server.close()
  })

  describe('half-close (TCP FIN ↔ WebSocket Close 1000 "Shutdown")', () => {
    /** A raw relay peer: writes server frames, and reads the tunnel's frames with our reader. */
    async function rawPeer(): Promise<{near: RawWebSocket; far: Socket; data: () => Buffer; closes: Array<{code: number; reason: string}>; nextClose: () => Promise<void>; server: Server}> {
      const relay = await tcpPair()
      const chunks: Buffer[] = []
      const closes: Array<{code: number; reason: string}> = []
      let wake: (() => void) | undefined
      const reader = new FrameReader(true, {
        onPayload: (p) => chunks.push(Buffer.from(p)),
        onControl: (opcode, payload) => {
          if (opcode !== Opcode.close) return
          closes.push({code: payload.readUInt16BE(0), reason: payload.subarray(2).toString()})
          wake?.()
        },
        onError: (e) => assert.fail(`the tunnel sent a malformed frame: ${e.code}`),
      })
      relay.app.on('data', (d: Buffer) => reader.push(d))
      relay.app.on('error', () => {})
      const nextClose = async () => {
        const seen = closes.length
        while (closes.length === seen) await new Promise<void>((r) => (wake = r))
      }
      return {near: {socket: relay.near, head: Buffer.alloc(0), protocol: ''}, far: relay.app, data: () => Buffer.concat(chunks), closes, nextClose, server: relay.server}
    }

    it('TCP EOF: everything is sent, then Close 1000 "Shutdown"; what the relay still sends reaches TCP; its Close ends the tunnel', async () => {
      const p = await rawPeer()
      const t = await tcpPair()
      const tunnel = pipeTunnel(p.near, t.near)
      const appGot: Buffer[] = []
      t.app.on('data', (d: Buffer) => appGot.push(d))
      const up = randomBytes(2 * 1024 * 1024)
      const closeSeen = p.nextClose()
      t.app.end(up) // the request, then FIN
      await closeSeen
      assert.deepEqual(p.closes, [{code: 1000, reason: 'Shutdown'}])
      assert.equal(sha(p.data()), sha(up), 'every byte before the FIN went out before the Close')
      assert.equal(tunnel.state(), 'half-closed-local')
      // The answer comes after the Close: it must still reach the application.
      const down = randomBytes(3 * 1024 * 1024)
      for (let i = 0; i < 3; i++) p.far.write(frame(Opcode.binary, down.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024)))
      while (Buffer.concat(appGot).length < down.length) await once(t.app, 'data')
      p.far.write(closeFrame(1000, 'Shutdown'))
      await once(t.app, 'end')
      const stats = await tunnel.done
      assert.equal(sha(Buffer.concat(appGot)), sha(down))
      assert.deepEqual([stats.closedBy, stats.error, stats.bytesToRelay, stats.bytesFromRelay], ['tcp', undefined, up.length, down.length])
      assert.equal(tunnel.state(), 'closed')
      p.server.close()
      t.server.close()
    })

    it('the relay\'s Close: TCP gets everything, then FIN; what TCP still sends goes out, then our Close', async () => {
      const p = await rawPeer()
      const t = await tcpPair(true)
      const tunnel = pipeTunnel(p.near, t.near)
      p.far.write(frame(Opcode.binary, Buffer.from('question')))
      p.far.write(closeFrame(1000, 'Shutdown'))
      const appGot: Buffer[] = []
      t.app.on('data', (d: Buffer) => appGot.push(d))
      await once(t.app, 'end')
      assert.equal(Buffer.concat(appGot).toString(), 'question')
      assert.equal(tunnel.state(), 'half-closed-remote')
      assert.equal(p.closes.length, 0, 'the tunnel does not answer the Close while TCP may still send')
      const answer = randomBytes(1024 * 1024)
      const closeSeen = p.nextClose()
      t.app.end(answer)
      await closeSeen
      assert.equal(sha(p.data()), sha(answer))
      assert.deepEqual(p.closes, [{code: 1000, reason: 'Shutdown'}])
      const stats = await tunnel.done
      assert.deepEqual([stats.closedBy, stats.error], ['relay', undefined])
      p.server.close()
      t.server.close()
    })

    it('a relay that never answers our Close cannot hold the tunnel: it is cut after the close timeout', async () => {
      const p = await rawPeer()
      const t = await tcpPair(true)
      t.app.on('error', () => {})
      const tunnel = pipeTunnel(p.near, t.near, {closeTimeoutMs: 300})
      const closeSeen = p.nextClose()
      t.app.end()
      await closeSeen
      const stats = await tunnel.done
      assert.match(stats.error ?? '', /half-closed \(half-closed-local\) with nothing moving for 300 ms/)
      p.server.close()
      t.server.close()
    })

    it('an endpoint that never finishes after the relay\'s Close is cut after the close timeout, with a Close 1001', async () => {
      const p = await rawPeer()
      const t = await tcpPair(true)
      t.app.on('error', () => {})
      const tunnel = pipeTunnel(p.near, t.near, {closeTimeoutMs: 300})
      p.far.write(closeFrame(1000, 'Shutdown'))
      await once(t.app, 'end') // the application never ends its side
      const closeSeen = p.nextClose()
      const stats = await tunnel.done
      await closeSeen
      assert.deepEqual(p.closes, [{code: 1001, reason: 'Close timeout'}])
      assert.match(stats.error ?? '', /half-closed-remote/)
      p.server.close()
      t.server.close()
    })
  })
})
