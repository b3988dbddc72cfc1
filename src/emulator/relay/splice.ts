import type {Socket} from 'node:net'
import type {Duplex} from 'node:stream'

import {closeFrame, frame, frameHeader, FrameReader, type FrameHeader, Opcode as Op, parseClosePayload, websocketAccept} from '../../lib/relay/frames.js'
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
 * at the service: a ping is answered on its own leg, pongs are dropped, and a leg that drops
 * without a Close is reported to the other as 1001 (relay-protocol.md §2.10).
 *
 * Half-close (§3.3): a Close is forwarded to the other leg with its code (1005 → 1000) and NOT
 * answered on its own leg: the other direction keeps flowing until the other leg closes too,
 * and that Close is the answer. Once both Closes have passed, both connections end. A pair in
 * which one Close has passed and nothing moves for `closeTimeoutMs` is ended (both legs get a
 * Close 1001 where they have none yet), so a peer that never answers cannot hold it forever.
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

/** How long a half-closed pair may carry nothing before both legs are ended (default). */
export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000

/** How long a leg may take to close its connection once both Closes have passed. */
const FINAL_CLOSE_MS = 5000

export interface SpliceOptions {
  highWaterMark?: number
  /** After one leg's Close has been forwarded, how long the pair may be silent (default 30 s). */
  closeTimeoutMs?: number
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
  const pair = new HalfCloseTimer(options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS)
  const high = options.highWaterMark ?? HIGH_WATER_MARK
  const legA = new Leg(a, high, pair)
  const legB = new Leg(b, high, pair)
  legA.peer = legB
  legB.peer = legA
  pair.legs = [legA, legB]
  let closedCount = 0
  const allClosed = new Promise<void>((resolve) => {
    const onClose = (): void => {
      closedCount += 1
      if (closedCount === 2) {
        pair.stop()
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

/**
 * The pair's half-closed deadline: armed when the first Close passes, pushed back by every
 * byte either leg sends, and when it fires both legs end.
 */
class HalfCloseTimer {
  legs: Leg[] = []
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly ms: number) {}

  arm(): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      for (const leg of this.legs) leg.terminate(1001, 'The peer did not finish closing in time')
    }, this.ms)
    this.timer.unref()
  }

  touch(): void {
    this.timer?.refresh()
  }

  stop(): void {
    clearTimeout(this.timer)
  }
}

/**
 * One accepted connection and what the broker knows of its close handshake. Frames this leg
 * sends are parsed by its FrameReader and streamed to `peer`; what goes to this leg is queued
 * in `out` and written at the end of each read, in order.
 */
class Leg {
  peer!: Leg
  private readonly reader: FrameReader
  /** Frames for this leg, written together at the next flush. */
  private out: Buffer[] = []
  /** A data frame from the peer is being streamed to this leg: control frames must wait. */
  private midFrame = false
  private waiting: Buffer[] = []
  /** Whether the data frame now arriving from this leg is dropped (its peer is closing or gone). */
  private dropping = false
  /** We sent (or queued) a Close to this leg. */
  private closeSent = false
  /** This leg sent its Close (or broke the protocol): nothing more is read from it. */
  private closeReceived = false
  private paused = false
  private closed = false
  private ended = false
  private finalTimer: NodeJS.Timeout | undefined

  constructor(
    readonly socket: Duplex,
    private readonly high: number,
    private readonly pair: HalfCloseTimer,
  ) {
    this.reader = new FrameReader(true, {
      onFrameStart: (h) => this.onFrameStart(h),
      onPayload: (piece) => {
        if (this.dropping) return
        this.peer.out.push(piece)
        this.pair.touch()
      },
      onFrameEnd: () => this.onFrameEnd(),
      onControl: (opcode, payload) => this.onControl(opcode, payload),
      onError: (e) => this.protocolError(e.message),
    })
  }

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
      clearTimeout(this.finalTimer)
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
    this.flush()
  }

  /** The broker shuts down: Close this leg (after any frame in flight). */
  goAway(code: number, reason: string): void {
    if (this.closed || this.closeSent) return
    this.sendClose(code, reason)
    this.flush()
  }

  /** The half-closed pair timed out: Close this leg if it has no Close yet, and end it. */
  terminate(code: number, reason: string): void {
    if (this.closed) return
    if (this.midFrame) {
      this.socket.destroy()
      return
    }
    this.closeReceived = true
    this.reader.stop()
    if (!this.closeSent) this.sendClose(code, reason)
    this.flush()
  }

  resumeReading(): void {
    if (this.paused) {
      this.paused = false
      this.socket.resume()
    }
  }

  /** Parses what this leg sent and streams it on to the peer. */
  private read(chunk: Buffer): void {
    this.reader.push(chunk)
    const {peer} = this
    peer.flush()
    this.flush()
    if (!this.paused && !peer.closed && peer.socket.writableLength > this.high) {
      this.paused = true
      this.socket.pause()
      peer.socket.once('drain', () => this.resumeReading())
    }
  }

  /**
   * A data frame from this leg: its header goes on unmasked, its payload streams after it.
   * Nothing may follow this leg's Close, and nothing is sent to a peer we are closing.
   */
  private onFrameStart(header: FrameHeader): void {
    const {peer} = this
    this.dropping = this.closeReceived || peer.closeSent || peer.closed
    if (this.dropping) return
    this.pair.touch()
    peer.out.push(frameHeader(header.opcode, header.length, {fin: header.fin}))
    peer.midFrame = header.length > 0
  }

  /** The data frame streaming to the peer is complete: control frames held for it go now. */
  private onFrameEnd(): void {
    if (this.dropping) {
      this.dropping = false
      return
    }
    const {peer} = this
    peer.midFrame = false
    if (peer.waiting.length > 0) {
      peer.out.push(...peer.waiting)
      peer.waiting = []
    }
  }

  private onControl(opcode: number, payload: Buffer): void {
    if (opcode === Op.ping) {
      if (!this.closeSent) this.sendControl(frame(Op.pong, payload))
      return
    }
    if (opcode === Op.pong) return
    // Close (RFC 6455 §5.5.1): forward it; the other leg's own Close will be this one's answer.
    const close = parseClosePayload(payload)
    if ('error' in close) return this.protocolError(close.error)
    this.closeReceived = true
    this.reader.stop()
    const {peer} = this
    // Until the peer answers, the other direction stays open, bounded by the pair's timer.
    if (!peer.closeSent && !peer.closed) peer.sendClose(forwardedCloseCode(close.code), close.reason)
  }

  /** The leg broke the protocol: Close it with 1002 and tell the peer it went away. */
  private protocolError(message: string): void {
    this.closeReceived = true
    this.reader.stop()
    if (!this.closeSent) this.sendClose(1002, message)
    const {peer} = this
    if (peer.closed || peer.closeSent) return
    if (peer.midFrame) {
      peer.socket.destroy()
      return
    }
    peer.sendClose(RelayCloseCode.GoingAway, 'The peer broke the WebSocket protocol')
  }

  private sendClose(code: number, reason: string): void {
    this.closeSent = true
    this.sendControl(closeFrame(code, reason))
    // A leg that never answers must not hold the pair forever.
    if (!this.closeReceived) this.pair.arm()
  }

  private sendControl(frame: Buffer): void {
    if (this.midFrame) this.waiting.push(frame)
    else this.out.push(frame)
  }

  /** Writes what is queued for this leg; once both Closes have passed, ends the connection. */
  flush(): void {
    const bufs = this.out
    if (bufs.length > 0) {
      this.out = []
      if (!this.closed && !this.socket.writableEnded) {
        if (bufs.length === 1) {
          this.socket.write(bufs[0]!)
        } else {
          this.socket.cork()
          for (const b of bufs) this.socket.write(b)
          this.socket.uncork()
        }
      }
    }
    if (this.closeSent && this.closeReceived && !this.midFrame && this.waiting.length === 0 && !this.ended && !this.closed) {
      this.ended = true
      this.socket.end()
      this.finalTimer = setTimeout(() => this.socket.destroy(), FINAL_CLOSE_MS)
      this.finalTimer.unref()
      // A paused leg would never see the FIN that ends it.
      this.resumeReading()
    }
  }
}
