import type {Socket} from 'node:net'

import {closeFrame, type FrameError, type FrameHandler, FrameReader, frame, frameHeader, Opcode, parseClosePayload} from './frames.js'
import type {RawWebSocket} from './raw-websocket.js'

/**
 * One tunnel: a relay WebSocket ↔ a TCP stream, pumped both ways with backpressure. The
 * WebSocket is a raw upgraded socket (raw-websocket.ts) framed here (frames.ts): each TCP read
 * goes out as one binary frame, and the payload of every frame that arrives is written to TCP
 * as it streams in, without assembling messages (the relay carries a byte stream; text frames
 * are bytes too). Neither side ever buffers without bound:
 *  - TCP → WebSocket: the TCP socket is paused while the relay socket has more than the
 *    high-water mark queued (the process's buffer budget shared among its open tunnels, see
 *    sharedHighWaterMark), and resumed on its 'drain';
 *  - WebSocket → TCP: the relay socket is paused while TCP has the high-water mark queued, and
 *    resumed on the TCP 'drain'.
 *
 * Half-close (relay-protocol.md §3.3, as .NET's HybridConnectionStream.Shutdown and azbridge):
 * a TCP FIN is a WebSocket Close (1000 "Shutdown") and a Close is a TCP FIN, in both
 * directions, and the other direction keeps flowing until its own end:
 *
 *   open ──TCP EOF: send Close──▶ half-closed-local ──relay's Close──▶ closing ──both sockets closed──▶ closed
 *   open ──relay's Close: end TCP──▶ half-closed-remote ──TCP EOF: send Close──▶ closing
 *   any ──error, abnormal close, idle, abort──▶ closing
 *
 * A half-closed tunnel whose open direction carries nothing for `closeTimeoutMs` (a peer that
 * sent its Close and never finishes) is cut, and so is a closing one whose sockets do not close
 * within that time. Pings are answered. Errors and abnormal closes (codes other than 1000, 1001
 * and none) reset the TCP side; 1001 "going away" ends TCP after what arrived and answers at once.
 */
export interface TunnelOptions {
  /** Close both sides after this long with no bytes either way (0 or undefined: never). */
  idleTimeoutMs?: number
  /**
   * Pause a side's reads above this many bytes queued on the other (default: a share of the
   * process's buffer budget, between 64 KiB and 1 MiB; see sharedHighWaterMark).
   */
  highWaterMark?: number
  /** Aborting closes the tunnel (Close 1001 "going away", TCP end). */
  signal?: AbortSignal
  /**
   * After one side has closed (TCP EOF or the relay's Close), how long the other direction may
   * carry nothing before the tunnel is cut; also how long the final close may take (default 30 s).
   */
  closeTimeoutMs?: number
}

/** Where a tunnel is in its life (see pipeTunnel). */
export type TunnelState = 'open' | 'half-closed-local' | 'half-closed-remote' | 'closing' | 'closed'

export interface TunnelStats {
  /** Bytes read from TCP and sent over the relay. */
  bytesToRelay: number
  /** Bytes received from the relay and written to TCP. */
  bytesFromRelay: number
  startedAt: Date
  durationMs: number
  /** Who closed first: 'tcp', 'relay', 'idle', 'abort', or 'error'. */
  closedBy: 'tcp' | 'relay' | 'idle' | 'abort' | 'error'
  /** The WebSocket close code seen or sent. */
  closeCode?: number
  /** What went wrong, if something did (no secrets). */
  error?: string
}

export interface Tunnel {
  readonly stats: () => TunnelStats
  /** Resolves when both sides are closed (never rejects). */
  readonly done: Promise<TunnelStats>
  /** The tunnel's state now. */
  readonly state: () => TunnelState
  /** Closes both sides now (Close 1001, TCP end). */
  close(reason?: string): void
}

export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000

/** The most a tunnel queues per direction: one tunnel alone streams best with this much in flight. */
export const MAX_HIGH_WATER_MARK = 1024 * 1024
/** The least: below it every few frames would pause and resume a side. */
export const MIN_HIGH_WATER_MARK = 64 * 1024
/**
 * What the open tunnels of one process may queue per direction together. With a fixed 1 MiB
 * mark per tunnel, 200 busy tunnels whose relay leg was slower than their TCP side held up to
 * 400 MiB in an agent (the reliability load test's peak RSS was 497 MiB); shared out, they hold
 * at most this plus one read per tunnel, and a lone tunnel keeps its full 1 MiB.
 */
export const BUFFER_BUDGET = 32 * 1024 * 1024

/** Relay pieces from this size on (a TLS record holds 16 KiB) cork the TCP side until the loop turn ends. */
const CORK_FROM = 8 * 1024

/** Tunnels of this process that have started and not finished. */
let openTunnels = 0

/** The high-water mark of each tunnel now: the budget shared among the open tunnels. */
export function sharedHighWaterMark(open = openTunnels): number {
  return Math.max(MIN_HIGH_WATER_MARK, Math.min(MAX_HIGH_WATER_MARK, Math.floor(BUFFER_BUDGET / Math.max(1, open))))
}

export function pipeTunnel(ws: RawWebSocket, tcp: Socket, options: TunnelOptions = {}): Tunnel {
  const machine = new TunnelMachine(ws, tcp, options)
  machine.start(ws.head)
  return machine
}

/**
 * The machine is the Tunnel and its FrameReader's handler, and its callbacks are methods: an
 * agent holds one per open tunnel, and every closure made per tunnel costs memory (the build
 * keeps function names, which gives each named closure a property table of its own).
 */
class TunnelMachine implements Tunnel, FrameHandler {
  private phase: TunnelState = 'open'
  readonly done: Promise<TunnelStats>
  private resolveDone!: (s: TunnelStats) => void
  private readonly relay: RawWebSocket['socket']
  private readonly closeTimeoutMs: number
  private readonly startedAt = new Date()
  private readonly started = performance.now()
  private readonly reader: FrameReader
  private bytesToRelay = 0
  private bytesFromRelay = 0
  private closedBy: TunnelStats['closedBy'] | undefined
  private closeCode: number | undefined
  private error: string | undefined
  /** Our Close went out: nothing more goes to the relay. */
  private closeSent = false
  /** The relay's Close arrived: nothing more comes from it. */
  private closeReceived = false
  private tcpClosed = false
  private relayClosed = false
  private tcpPaused = false
  private relayPaused = false
  private tcpCorked = false
  private idleTimer: NodeJS.Timeout | undefined
  /** Bounds a half-closed tunnel's silence, then the final close. */
  private closeTimer: NodeJS.Timeout | undefined

  constructor(
    ws: RawWebSocket,
    private readonly tcp: Socket,
    private readonly options: TunnelOptions,
  ) {
    this.relay = ws.socket
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS
    this.done = new Promise<TunnelStats>((r) => (this.resolveDone = r))
    this.reader = new FrameReader(false, this)
  }

  state(): TunnelState {
    return this.phase
  }

  private high(): number {
    return this.options.highWaterMark ?? sharedHighWaterMark()
  }

  close(reason = 'Going away'): void {
    this.abort(reason)
  }

  /** The signal aborted (EventTarget calls handleEvent on a listener object). */
  handleEvent(): void {
    this.abort('Going away')
  }

  // FrameHandler
  onPayload(piece: Buffer): void {
    this.toTcp(piece)
  }

  onError(e: FrameError): void {
    this.protocolError(e)
  }

  stats(): TunnelStats {
    return {
      bytesToRelay: this.bytesToRelay,
      bytesFromRelay: this.bytesFromRelay,
      startedAt: this.startedAt,
      durationMs: Math.round(performance.now() - this.started),
      closedBy: this.closedBy ?? 'relay',
      ...(this.closeCode === undefined ? {} : {closeCode: this.closeCode}),
      ...(this.error ? {error: this.error} : {}),
    }
  }

  start(head: Buffer): void {
    const {tcp, relay} = this
    // A FIN from TCP is a half-close: the socket must stay writable for what the relay still
    // sends (Node would otherwise end it at once and refuse later writes).
    tcp.allowHalfOpen = true
    openTunnels++
    if (this.options.idleTimeoutMs) {
      this.idleTimer = setTimeout(() => {
        this.first('idle', `idle for ${this.options.idleTimeoutMs} ms`)
        this.shutdown(1000, 'Idle timeout')
      }, this.options.idleTimeoutMs)
      this.idleTimer.unref?.()
    }
    tcp.on('data', (chunk: Buffer) => this.fromTcp(chunk))
    tcp.on('end', () => this.onTcpEnd())
    tcp.on('error', (e: NodeJS.ErrnoException) => {
      this.first('error', `tcp: ${e.code ?? e.message}`)
      this.fail(1011, `TCP ${e.code ?? 'error'}`.slice(0, 120))
    })
    tcp.on('close', () => {
      this.tcpClosed = true
      // TCP is gone both ways: nothing more can be read from it or delivered to it.
      if (!this.closeSent) this.sendClose(1000, 'Shutdown')
      if (this.phase !== 'closed') this.enterClosing()
      this.finish()
    })
    relay.on('data', (chunk: Buffer) => {
      this.touch()
      this.reader.push(chunk)
    })
    // The relay's FIN ends our side too (whatever the socket's allowHalfOpen); 'close' follows.
    relay.on('end', () => relay.end())
    relay.on('close', () => {
      this.relayClosed = true
      if (!this.closeReceived) {
        // Dropped without a Close (1006).
        if (this.closeCode === undefined) this.closeCode = 1006
        this.first('error', 'relay closed 1006 (the connection dropped)')
        tcp.destroy()
      }
      if (this.phase !== 'closed') this.enterClosing()
      this.finish()
    })
    relay.on('error', (e: Error) => {
      this.first('error', `relay: ${e.message}`)
      tcp.destroy()
    })
    if (this.options.signal?.aborted) queueMicrotask(() => this.handleEvent())
    else this.options.signal?.addEventListener('abort', this, {once: true})
    if (relay.destroyed) {
      // A WebSocket that was already closed before we got it.
      this.relayClosed = true
      if (this.closeCode === undefined) this.closeCode = 1006
      this.enterClosing()
      tcp.destroy()
    } else if (head.length > 0) {
      this.reader.push(head)
    }
  }

  /** Closes both sides in order (Close 1001, TCP end), e.g. on abort or at the drain timeout. */
  abort(reason: string): void {
    if (this.phase === 'closed') return
    this.first('abort')
    this.shutdown(1001, reason)
  }

  // -- TCP → relay -----------------------------------------------------------------------------

  /** One binary frame per TCP read, header and payload in one write. */
  private fromTcp(chunk: Buffer): void {
    const {relay} = this
    if (this.closeSent || !this.relayWritable()) return
    this.bytesToRelay += chunk.length
    this.touch()
    relay.cork()
    relay.write(frameHeader(Opcode.binary, chunk.length, {masked: true}))
    relay.write(chunk)
    relay.uncork()
    if (relay.writableLength > this.high() && !this.tcpPaused) {
      this.tcpPaused = true
      this.tcp.pause()
      relay.once('drain', () => {
        this.tcpPaused = false
        this.tcp.resume()
      })
    }
  }

  /** TCP sent FIN: everything it sent is queued before our Close (1000 "Shutdown"). */
  private onTcpEnd(): void {
    this.first('tcp')
    if (this.phase === 'open') {
      this.sendClose(1000, 'Shutdown')
      this.phase = 'half-closed-local'
      this.armCloseTimer()
    } else if (this.phase === 'half-closed-remote') {
      this.sendClose(1000, 'Shutdown')
      this.enterClosing()
    }
  }

  // -- relay → TCP -----------------------------------------------------------------------------

  uncorkTcp(): void {
    this.tcpCorked = false
    this.tcp.uncork()
  }

  private toTcp(piece: Buffer): void {
    const {tcp} = this
    this.bytesFromRelay += piece.length
    if (tcp.destroyed || tcp.writableEnded) return
    // TLS hands us the relay's bytes 16 KiB at a time, several per loop turn: the TCP socket is
    // corked until the turn ends so they go out in one write (a plain pipe writes 64 KiB reads).
    // A short piece with nothing corked is most likely all there is (a request, a keystroke, a
    // ping): it goes out at once, without waiting for the turn to end.
    if (!this.tcpCorked && piece.length >= CORK_FROM) {
      this.tcpCorked = true
      tcp.cork()
      setImmediate(uncorkTcp, this)
    }
    // Pause the relay only when TCP has a high-water mark's worth queued (not at the socket's
    // 16 KiB default): pausing per frame would cost an event-loop turn each.
    if (!tcp.write(piece) && tcp.writableLength >= this.high() && !this.relayPaused) {
      this.relayPaused = true
      this.relay.pause()
      tcp.once('drain', () => {
        this.relayPaused = false
        this.relay.resume()
      })
    }
  }

  onControl(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.ping) {
      if (!this.closeSent && this.relayWritable()) this.relay.write(frame(Opcode.pong, payload, true))
    } else if (opcode === Opcode.close) {
      this.onRelayClose(payload)
    }
  }

  /** The relay's Close: a normal one half-closes TCP; anything else resets it. */
  private onRelayClose(payload: Buffer): void {
    this.closeReceived = true
    this.reader.stop()
    const parsed = parseClosePayload(payload)
    if ('error' in parsed) return this.protocolError({code: 'BAD_CLOSE_PAYLOAD', message: parsed.error})
    const {code, reason} = parsed
    if (this.closeCode === undefined) this.closeCode = code
    if (code === 1000 || code === 1005) {
      this.first('relay')
      if (!this.tcp.destroyed) this.tcp.end()
      if (this.phase === 'open') {
        this.phase = 'half-closed-remote'
        this.armCloseTimer()
        return
      }
    } else if (code === 1001) {
      // The peer is going away and will read nothing more: deliver what came, answer, end.
      this.first('relay')
      if (!this.tcp.destroyed) this.tcp.end()
      if (!this.closeSent) this.sendClose(1001, '')
    } else {
      this.first('error', `relay closed ${code}${reason ? ` ${reason.slice(0, 200)}` : ''}`)
      if (!this.closeSent) this.sendClose(code, '')
      this.tcp.destroy()
    }
    this.enterClosing()
  }

  private protocolError(e: FrameError): void {
    this.first('error', `relay: ${e.message}`)
    this.closeReceived = true
    this.reader.stop()
    this.fail(1002, e.message)
  }

  // -- closing ---------------------------------------------------------------------------------

  private first(who: TunnelStats['closedBy'], why?: string): void {
    if (!this.closedBy) this.closedBy = who
    if (why && !this.error) this.error = why
  }

  private touch(): void {
    this.idleTimer?.refresh()
    // A half-closed tunnel lives on while its open direction carries bytes.
    if (this.phase === 'half-closed-local' || this.phase === 'half-closed-remote') this.closeTimer?.refresh()
  }

  private relayWritable(): boolean {
    return !this.relayClosed && !this.relay.destroyed && !this.relay.writableEnded
  }

  /** Sends our Close after everything queued; once both Closes have passed, ends the socket. */
  private sendClose(code: number, reason: string): void {
    if (this.closeSent || !this.relayWritable()) return
    this.closeSent = true
    this.closeCode ??= code
    this.relay.write(closeFrame(code === 1005 ? 1000 : code, reason, true))
  }

  /** An error on our side: Close with `code`, reset TCP. */
  private fail(code: number, reason: string): void {
    this.sendClose(code, reason)
    this.tcp.destroy()
    this.enterClosing()
  }

  /** Orderly: Close the WebSocket after what is queued, end TCP after what is queued. */
  private shutdown(code: number, reason: string): void {
    this.sendClose(code, reason)
    if (!this.tcp.destroyed) this.tcp.end()
    this.enterClosing()
  }

  private enterClosing(): void {
    if (this.phase === 'closing' || this.phase === 'closed') {
      this.endRelayIfDone()
      return
    }
    this.phase = 'closing'
    this.endRelayIfDone()
    clearTimeout(this.closeTimer)
    this.closeTimer = undefined
    this.armCloseTimer()
  }

  /** Both Closes have passed: the WebSocket is done and its connection can end. */
  private endRelayIfDone(): void {
    if (this.closeSent && this.closeReceived && !this.relay.writableEnded && !this.relay.destroyed) this.relay.end()
  }

  private armCloseTimer(): void {
    if (this.closeTimer) return
    this.closeTimer = setTimeout(() => this.onCloseTimeout(), this.closeTimeoutMs)
    this.closeTimer.unref?.()
  }

  /** A peer that does not finish its side must not hold the tunnel open forever. */
  private onCloseTimeout(): void {
    this.closeTimer = undefined
    const half = this.phase === 'half-closed-local' || this.phase === 'half-closed-remote'
    if (half) this.first('error', `half-closed (${this.phase}) with nothing moving for ${this.closeTimeoutMs} ms`)
    if (this.phase === 'half-closed-remote' && !this.closeSent) this.sendClose(1001, 'Close timeout')
    this.relay.destroy()
    this.tcp.destroy()
  }

  private finish(): void {
    if (!this.tcpClosed || !this.relayClosed || this.phase === 'closed') return
    this.phase = 'closed'
    openTunnels--
    clearTimeout(this.idleTimer)
    clearTimeout(this.closeTimer)
    this.options.signal?.removeEventListener('abort', this)
    this.resolveDone(this.stats())
  }
}

function uncorkTcp(machine: TunnelMachine): void {
  machine.uncorkTcp()
}
