import type {Socket} from 'node:net'

import {closeFrame, frame, frameHeader, type FrameHeader, Opcode, parseClosePayload, parseFrameHeader} from './frames.js'
import type {RawWebSocket} from './raw-websocket.js'

/**
 * One tunnel: a relay WebSocket ↔ a TCP stream, pumped both ways with backpressure. The
 * WebSocket is a raw upgraded socket (raw-websocket.ts) framed here (frames.ts): each TCP read
 * goes out as one binary frame, and the payload of every frame that arrives is written to TCP
 * as it streams in, without assembling messages (the relay carries a byte stream; text frames
 * are bytes too). Neither side ever buffers without bound:
 *  - TCP → WebSocket: the TCP socket is paused while the relay socket has more than the
 *    high-water mark queued, and resumed on its 'drain';
 *  - WebSocket → TCP: the relay socket is paused while TCP has the high-water mark queued, and
 *    resumed on the TCP 'drain'.
 * Pings are answered, and a Close is answered and ends the tunnel.
 * Close is orderly both ways: TCP end → everything already read is sent, then Close 1000;
 * WebSocket close → everything already received is written, then TCP end. Errors and abnormal
 * closes reset the other side. The relay protocol has no half-close (relay-protocol.md §3.3).
 */
export interface TunnelOptions {
  /** Close both sides after this long with no bytes either way (0 or undefined: never). */
  idleTimeoutMs?: number
  /** Pause TCP reads above this many bytes queued on the WebSocket (default 1 MiB). */
  highWaterMark?: number
  /** Aborting closes the tunnel (Close 1001 "going away", TCP end). */
  signal?: AbortSignal
}

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
  /** Closes both sides now (Close 1001, TCP end). */
  close(reason?: string): void
}

/** How long the relay may take to finish the close handshake before its connection is cut. */
const CLOSE_TIMEOUT_MS = 5000

export function pipeTunnel(ws: RawWebSocket, tcp: Socket, options: TunnelOptions = {}): Tunnel {
  const relay = ws.socket
  const high = options.highWaterMark ?? 1024 * 1024
  const startedAt = new Date()
  const started = performance.now()
  let bytesToRelay = 0
  let bytesFromRelay = 0
  let closedBy: TunnelStats['closedBy'] | undefined
  let closeCode: number | undefined
  let error: string | undefined
  let tcpClosed = false
  let wsClosed = false
  /** We sent our Close: nothing more goes to the relay. */
  let closeSent = false
  /** The relay sent its Close: what follows is ignored. */
  let closeReceived = false
  let tcpPausedByUs = false
  let relayPausedByUs = false
  let idleTimer: NodeJS.Timeout | undefined
  let closeTimer: NodeJS.Timeout | undefined
  let resolveDone!: (s: TunnelStats) => void
  const done = new Promise<TunnelStats>((r) => (resolveDone = r))

  const stats = (): TunnelStats => ({
    bytesToRelay,
    bytesFromRelay,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    closedBy: closedBy ?? 'relay',
    ...(closeCode === undefined ? {} : {closeCode}),
    ...(error ? {error} : {}),
  })

  const first = (who: TunnelStats['closedBy'], why?: string) => {
    if (!closedBy) closedBy = who
    if (why && !error) error = why
  }

  const touch = () => {
    if (!options.idleTimeoutMs) return
    idleTimer?.refresh()
  }
  if (options.idleTimeoutMs) {
    idleTimer = setTimeout(() => {
      first('idle', `idle for ${options.idleTimeoutMs} ms`)
      shutdown(1000, 'Idle timeout')
    }, options.idleTimeoutMs)
    idleTimer.unref?.()
  }

  const finish = () => {
    if (!tcpClosed || !wsClosed) return
    if (idleTimer) clearTimeout(idleTimer)
    clearTimeout(closeTimer)
    options.signal?.removeEventListener('abort', onAbort)
    resolveDone(stats())
  }

  const relayWritable = () => !wsClosed && !relay.destroyed && !relay.writableEnded

  /** Sends our Close (after everything queued); the relay answers it and closes. */
  const closeWs = (code: number, reason: string) => {
    if (closeSent || !relayWritable()) return
    closeSent = true
    closeCode = code
    relay.write(closeFrame(code, reason, true))
    if (closeReceived) relay.end()
    // A relay that never answers must not hold the tunnel open forever.
    closeTimer = setTimeout(() => relay.destroy(), CLOSE_TIMEOUT_MS)
    closeTimer.unref?.()
  }

  /** Orderly: close the WebSocket after what is queued, end TCP after what is queued. */
  const shutdown = (code: number, reason: string) => {
    closeWs(code, reason)
    if (!tcp.destroyed) tcp.end()
    // A peer that never finishes its side must not hold the tunnel open forever.
    setTimeout(() => {
      if (!wsClosed) relay.destroy()
      if (!tcp.destroyed) tcp.destroy()
    }, CLOSE_TIMEOUT_MS).unref?.()
  }

  // TCP → relay: one binary frame per read, header and payload in one write.
  tcp.on('data', (chunk: Buffer) => {
    if (closeSent || !relayWritable()) return
    bytesToRelay += chunk.length
    touch()
    relay.cork()
    relay.write(frameHeader(Opcode.binary, chunk.length, {masked: true}))
    relay.write(chunk)
    relay.uncork()
    if (relay.writableLength > high && !tcpPausedByUs) {
      tcpPausedByUs = true
      tcp.pause()
      relay.once('drain', () => {
        tcpPausedByUs = false
        tcp.resume()
      })
    }
  })
  tcp.on('end', () => {
    // The TCP side finished: everything it sent is queued on the WebSocket before the Close.
    first('tcp')
    closeWs(1000, 'Shutdown')
  })
  tcp.on('error', (e: NodeJS.ErrnoException) => {
    first('error', `tcp: ${e.code ?? e.message}`)
    closeWs(1011, `TCP ${e.code ?? 'error'}`.slice(0, 120))
  })
  tcp.on('close', () => {
    tcpClosed = true
    closeWs(1000, 'Shutdown')
    finish()
  })

  // relay → TCP: frames parsed as they stream in.
  let pending: Buffer | undefined
  let payloadLeft = 0
  let control: FrameHeader | undefined

  // TLS hands us the relay's bytes 16 KiB at a time, several per loop turn: the TCP socket is
  // corked until the turn ends so they go out in one write (a plain pipe writes 64 KiB reads).
  let tcpCorked = false
  const uncorkTcp = () => {
    tcpCorked = false
    tcp.uncork()
  }
  const toTcp = (piece: Buffer) => {
    bytesFromRelay += piece.length
    if (tcp.destroyed || tcp.writableEnded) return
    if (!tcpCorked) {
      tcpCorked = true
      tcp.cork()
      setImmediate(uncorkTcp)
    }
    // Pause the relay only when TCP has a high-water mark's worth queued (not at the socket's
    // 16 KiB default): pausing per frame would cost an event-loop turn each.
    if (!tcp.write(piece) && tcp.writableLength >= high && !relayPausedByUs) {
      relayPausedByUs = true
      relay.pause()
      tcp.once('drain', () => {
        relayPausedByUs = false
        relay.resume()
      })
    }
  }

  const onClose = (payload: Buffer) => {
    closeReceived = true
    const parsed = parseClosePayload(payload)
    const code = 'error' in parsed ? 1002 : parsed.code
    const reason = 'error' in parsed ? parsed.error : parsed.reason
    if (closeCode === undefined) closeCode = code
    if (closeSent) relay.end()
    else closeWs(code === 1005 ? 1000 : code === 1002 ? 1002 : code, '')
    const normal = code === 1000 || code === 1001 || code === 1005
    if (normal) {
      first('relay')
      if (!tcp.destroyed) tcp.end()
    } else {
      first('error', `relay closed ${code}${reason ? ` ${reason.slice(0, 200)}` : ''}`)
      tcp.destroy()
    }
  }

  const protocolError = (message: string) => {
    first('error', `relay: ${message}`)
    closeReceived = true
    pending = undefined
    closeWs(1002, message)
    relay.end()
    tcp.destroy()
  }

  const fromRelay = (chunk: Buffer) => {
    if (closeReceived) return
    touch()
    let data = chunk
    if (pending) {
      data = Buffer.concat([pending, chunk])
      pending = undefined
    }
    let off = 0
    for (;;) {
      if (payloadLeft > 0) {
        if (off >= data.length) break
        const n = Math.min(payloadLeft, data.length - off)
        toTcp(n === data.length ? data : data.subarray(off, off + n))
        off += n
        payloadLeft -= n
        continue
      }
      if (control) {
        const need = control.length
        if (data.length - off < need) break
        const payload = data.subarray(off, off + need)
        off += need
        const {opcode} = control
        control = undefined
        if (opcode === Opcode.ping) {
          if (!closeSent && relayWritable()) relay.write(frame(Opcode.pong, payload, true))
        } else if (opcode === Opcode.close) {
          onClose(payload)
          return
        }
        continue
      }
      if (off >= data.length) break
      const header = parseFrameHeader(data.subarray(off), false)
      if (header === 'incomplete') break
      if ('error' in header) return protocolError(header.error)
      off += header.size
      if (header.opcode >= Opcode.close) control = header
      else payloadLeft = header.length
    }
    if (off < data.length) pending = Buffer.from(data.subarray(off))
  }

  relay.on('data', fromRelay)
  // The relay's FIN ends our side too (whatever the socket's allowHalfOpen); 'close' follows.
  relay.on('end', () => relay.end())
  relay.on('close', () => {
    wsClosed = true
    clearTimeout(closeTimer)
    if (!closeReceived) {
      // Dropped without a Close (1006).
      if (closeCode === undefined) closeCode = 1006
      first('error', 'relay closed 1006 (the connection dropped)')
      tcp.destroy()
    }
    finish()
  })
  relay.on('error', (e: Error) => {
    first('error', `relay: ${e.message}`)
    tcp.destroy()
  })

  const onAbort = () => {
    first('abort')
    shutdown(1001, 'Going away')
  }
  if (options.signal?.aborted) queueMicrotask(onAbort)
  else options.signal?.addEventListener('abort', onAbort, {once: true})

  if (relay.destroyed) {
    // A WebSocket that was already closed before we got it.
    wsClosed = true
    if (closeCode === undefined) closeCode = 1006
    tcp.destroy()
  } else if (ws.head.length > 0) {
    fromRelay(ws.head)
  }

  return {
    stats,
    done,
    close(reason = 'Going away') {
      first('abort')
      shutdown(1001, reason)
    },
  }
}
