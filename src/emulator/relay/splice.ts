import type {Socket} from 'node:net'
import type {Duplex} from 'node:stream'

import {closeFrame, frame, frameHeader, type FrameHeader, Opcode as Op, parseClosePayload, parseFrameHeader, unmask, websocketAccept} from '../../lib/relay/frames.js'
import {forwardedCloseCode, RelayCloseCode} from '../../lib/relay/protocol.js'

/**
 * The broker's data path (relay-protocol.md §3.3): two accepted WebSocket connections, the
 * sender's and the listener's rendezvous, relayed into each other frame by frame.
 *
 * Both legs are clients of the broker, so what each sends is masked and what each receives
 * must not be: every frame header is rewritten (mask bit and key dropped, payload unmasked
 * when the key is not zero) and the payload streams through as it arrives, without assembling
 * messages. Frame boundaries, opcodes (text, binary, continuation) and FIN bits pass verbatim,
 * so messages keep their type and boundaries. Control frames end at the broker, as they do
 * at the service: a ping is answered on its own leg, pongs are dropped, a Close is answered on
 * its leg and forwarded to the other with its code (1005 → 1000), and a leg that drops without
 * a Close is reported to the other as 1001 (relay-protocol.md §2.10).
 *
 * Backpressure: a leg stops being read while the other has more than `highWaterMark` bytes
 * queued, so TCP flow control reaches the original sender and the broker never buffers
 * without bound.
 *
 * Why not `ws` here: `ws` assembles every message and copies it twice before it can be sent on;
 * the relay's middle hop is where that cost counts (bench/tunnel.mjs).
 */

/** Stop reading a leg while the other has more than this many bytes queued. */
export const HIGH_WATER_MARK = 1024 * 1024

/** How long a leg may take to answer our Close before its connection is cut. */
const CLOSE_TIMEOUT_MS = 5000

export interface SpliceOptions {
  highWaterMark?: number
  /** Called once when both connections are closed. */
  onClosed?: () => void
}

export interface Splice {
  /**
   * Closes both legs with this code and reason; resolves when both connections are closed.
   * A leg that has not finished its close handshake after `graceMs` is cut.
   */
  close(code: number, reason: string, graceMs?: number): Promise<void>
}

/**
 * Completes a server-side WebSocket handshake that the caller has already validated: writes
 * the 101 answer with the accept value and the chosen subprotocol, if any.
 */
export function acceptWebSocket(socket: Duplex, key: string, protocol?: string): void {
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${websocketAccept(key)}`]
  if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`)
  socket.write(`${lines.join('\r\n')}\r\n\r\n`)
}

/**
 * Relays two accepted WebSocket connections into each other. `aHead`/`bHead` are the bytes
 * that arrived with each upgrade request after its headers.
 */
export function spliceWebSockets(a: Duplex, aHead: Buffer, b: Duplex, bHead: Buffer, options: SpliceOptions = {}): Splice {
  const high = options.highWaterMark ?? HIGH_WATER_MARK
  const legA = new Leg(a, high)
  const legB = new Leg(b, high)
  legA.peer = legB
  legB.peer = legA
  let closedCount = 0
  const allClosed = new Promise<void>((resolve) => {
    const onClose = (): void => {
      closedCount += 1
      if (closedCount === 2) {
        options.onClosed?.()
        resolve()
      }
    }
    legA.onceClosed(onClose)
    legB.onceClosed(onClose)
  })
  legA.start(aHead)
  legB.start(bHead)
  return {
    close(code, reason, graceMs = 1000) {
      legA.goAway(code, reason)
      legB.goAway(code, reason)
      const cut = setTimeout(() => {
        a.destroy()
        b.destroy()
      }, graceMs)
      cut.unref()
      return allClosed.finally(() => clearTimeout(cut))
    },
  }
}

class Leg {
  peer!: Leg
  /** What this leg has sent that does not yet make a whole header or control frame. */
  private pending: Buffer | undefined
  /** Payload bytes still to come of the data frame being streamed to the peer. */
  private payloadLeft = 0
  private mask: Buffer | undefined
  private maskOffset = 0
  /** Whether the data frame now streaming is dropped (the peer is closing). */
  private dropping = false
  /** A control frame being collected: its opcode, length and mask. */
  private control: FrameHeader | undefined
  /** The leg broke the protocol: what else it sends is ignored. */
  private broken = false

  /** A data frame from the peer is being streamed to this leg: control frames must wait. */
  private midFrame = false
  private waiting: Buffer[] = []
  /** The next write carries our Close to this leg. */
  private closeAfterWrite = false
  /** We sent (or queued) our Close to this leg. */
  private closeSent = false
  /** This leg sent its Close. */
  private closeReceived = false
  private paused = false
  private closed = false
  private closeTimer: NodeJS.Timeout | undefined

  constructor(
    readonly socket: Duplex,
    private readonly high: number,
  ) {}

  onceClosed(fn: () => void): void {
    if (this.closed) fn()
    else this.socket.once('close', fn)
  }

  start(head: Buffer): void {
    const s = this.socket as Partial<Socket>
    s.setTimeout?.(0)
    s.setNoDelay?.(true)
    this.socket.on('error', () => {
      // 'close' follows; the peer hears 1001.
    })
    this.socket.on('close', () => {
      this.closed = true
      clearTimeout(this.closeTimer)
      if (!this.closeReceived) this.peer.lost()
      this.peer.resumeReading()
    })
    // Upgraded sockets of an http server allow half-open connections: a leg that sends FIN
    // (after its Close, or instead of one) gets FIN back, and 'close' follows.
    this.socket.on('end', () => this.socket.end())
    this.socket.on('data', (chunk: Buffer) => this.read(chunk))
    if (head.length > 0) this.read(head)
  }

  /** The other leg dropped without a Close: tell this one 1001, or cut it mid-frame. */
  lost(): void {
    if (this.closed || this.closeSent) return
    if (this.midFrame) {
      // A frame cut short cannot be finished; this leg sees the connection drop, as the peer did.
      this.socket.destroy()
      return
    }
    this.sendClose(forwardedCloseCode(RelayCloseCode.Abnormal), '')
  }

  /** The broker shuts down: Close this leg (after any frame in flight), then cut it. */
  goAway(code: number, reason: string): void {
    if (!this.closed && !this.closeSent) this.sendClose(code, reason)
  }

  resumeReading(): void {
    if (this.paused) {
      this.paused = false
      this.socket.resume()
    }
  }

  /** Parses what this leg sent and streams it on to the peer. */
  private read(chunk: Buffer): void {
    if (this.broken) return
    const out: Buffer[] = []
    let data = chunk
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk])
      this.pending = undefined
    }
    let off = 0
    for (;;) {
      if (this.payloadLeft > 0) {
        if (off >= data.length) break
        const n = Math.min(this.payloadLeft, data.length - off)
        const piece = data.subarray(off, off + n)
        off += n
        this.payloadLeft -= n
        if (!this.dropping) {
          if (this.mask) unmask(piece, this.mask, this.maskOffset)
          out.push(piece)
        }
        this.maskOffset = (this.maskOffset + n) & 3
        if (this.payloadLeft === 0) this.endFrame(out)
        continue
      }
      if (this.control) {
        const need = this.control.length
        if (data.length - off < need) break
        const payload = Buffer.from(data.subarray(off, off + need))
        off += need
        if (this.control.mask) unmask(payload, this.control.mask, 0)
        const {opcode} = this.control
        this.control = undefined
        this.onControl(opcode, payload, out)
        if (this.broken) break
        continue
      }
      if (off >= data.length) break
      const header = parseFrameHeader(data.subarray(off), true)
      if (header === 'incomplete') break
      if ('error' in header) {
        this.protocolError(header.error, out)
        break
      }
      off += header.size
      if (header.opcode >= Op.close) {
        this.control = header
        continue
      }
      // A data frame: its header goes on unmasked, its payload streams after it. Nothing may
      // follow this leg's Close, and nothing is sent to a peer we are closing.
      this.dropping = this.closeReceived || this.peer.closeSent
      this.mask = header.mask
      this.maskOffset = 0
      this.payloadLeft = header.length
      if (!this.dropping) {
        out.push(frameHeader(header.opcode, header.length, {fin: header.fin}))
        this.peer.midFrame = header.length > 0
      }
    }
    if (!this.broken && off < data.length) this.pending = Buffer.from(data.subarray(off))
    this.peer.write(out)
    if (!this.paused && !this.peer.closed && this.peer.socket.writableLength > this.high) {
      this.paused = true
      this.socket.pause()
      this.peer.socket.once('drain', () => this.resumeReading())
    }
  }

  /** The data frame streaming to the peer is complete: control frames held for it go now. */
  private endFrame(out: Buffer[]): void {
    if (this.dropping) {
      this.dropping = false
      return
    }
    const {peer} = this
    peer.midFrame = false
    if (peer.waiting.length > 0) {
      out.push(...peer.waiting)
      peer.waiting = []
      // Our Close was among them: once it is written, the leg may be ended.
      if (peer.closeSent) peer.closeAfterWrite = true
    }
  }

  private onControl(opcode: number, payload: Buffer, out: Buffer[]): void {
    if (opcode === Op.ping) {
      if (!this.closeSent) this.sendControl(frame(Op.pong, payload))
      return
    }
    if (opcode === Op.pong) return
    // Close (RFC 6455 §5.5.1): answer it on this leg, forward its code to the peer.
    const close = parseClosePayload(payload)
    if ('error' in close) {
      this.protocolError(close.error, out)
      return
    }
    const {code, reason} = close
    const answered = this.closeSent
    this.closeReceived = true
    if (!answered) this.sendClose(forwardedCloseCode(code), reason)
    else if (!this.midFrame) this.afterCloseSent() // the answer to our Close: the handshake is done
    const {peer} = this
    if (!peer.closeSent && !peer.closed) {
      peer.closeSent = true
      out.push(closeFrame(forwardedCloseCode(code), reason))
      peer.afterCloseSent()
    }
  }

  /** The leg broke the protocol: Close it with 1002 and tell the peer it went away. */
  private protocolError(message: string, out: Buffer[]): void {
    this.broken = true
    this.closeReceived = true
    this.pending = undefined
    if (!this.closeSent) this.sendClose(1002, message)
    const {peer} = this
    if (peer.closed || peer.closeSent) return
    if (peer.midFrame) {
      peer.socket.destroy()
      return
    }
    peer.closeSent = true
    out.push(closeFrame(RelayCloseCode.GoingAway, 'The peer broke the WebSocket protocol'))
    peer.afterCloseSent()
  }

  private sendClose(code: number, reason: string): void {
    this.closeSent = true
    this.sendControl(closeFrame(code, reason))
    if (this.midFrame) this.armCloseTimer()
    else this.afterCloseSent()
  }

  /** Our Close to this leg is on its way: end the connection once the leg has answered it. */
  private afterCloseSent(): void {
    if (this.closed) return
    if (this.closeReceived) this.socket.end()
    this.armCloseTimer()
    // A paused leg would never read the answer to our Close.
    this.resumeReading()
  }

  private armCloseTimer(): void {
    if (this.closeTimer || this.closed) return
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS)
    this.closeTimer.unref()
  }

  private sendControl(frame: Buffer): void {
    if (this.midFrame) this.waiting.push(frame)
    else this.write([frame])
  }

  write(bufs: Buffer[]): void {
    if (bufs.length === 0 || this.closed || this.socket.writableEnded) return
    if (bufs.length === 1) {
      this.socket.write(bufs[0]!)
    } else {
      this.socket.cork()
      for (const b of bufs) this.socket.write(b)
      this.socket.uncork()
    }
    if (this.closeAfterWrite) {
      this.closeAfterWrite = false
      this.afterCloseSent()
    }
  }
}
