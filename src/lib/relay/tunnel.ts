import type {Socket} from 'node:net'

import type {WebSocket} from 'ws'

/**
 * One tunnel: a relay WebSocket (binary messages) ↔ a TCP stream, pumped both ways with
 * backpressure. Neither side ever buffers without bound:
 *  - TCP → WebSocket: the TCP socket is paused while `ws.bufferedAmount` is above the high-water
 *    mark and resumed when a send completes below the low-water mark;
 *  - WebSocket → TCP: the WebSocket's socket is paused when `tcp.write` returns false and resumed
 *    on the TCP 'drain'.
 * Close is orderly both ways: TCP end → everything already read is sent, then Close 1000;
 * WebSocket close → everything already received is written, then TCP end. Errors and abnormal
 * closes reset the other side. The relay protocol has no half-close (relay-protocol.md §3.3).
 */
export interface TunnelOptions {
  /** Close both sides after this long with no bytes either way (0 or undefined: never). */
  idleTimeoutMs?: number
  /** Pause TCP reads above this many bytes queued on the WebSocket (default 1 MiB). */
  highWaterMark?: number
  /** Resume TCP reads below this (default a quarter of the high-water mark). */
  lowWaterMark?: number
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

const OPEN = 1

export function pipeTunnel(ws: WebSocket, tcp: Socket, options: TunnelOptions = {}): Tunnel {
  const high = options.highWaterMark ?? 1024 * 1024
  const low = options.lowWaterMark ?? Math.floor(high / 4)
  const startedAt = new Date()
  const started = performance.now()
  let bytesToRelay = 0
  let bytesFromRelay = 0
  let closedBy: TunnelStats['closedBy'] | undefined
  let closeCode: number | undefined
  let error: string | undefined
  let tcpClosed = false
  let wsClosed = false
  let tcpPausedByUs = false
  let idleTimer: NodeJS.Timeout | undefined
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
    options.signal?.removeEventListener('abort', onAbort)
    resolveDone(stats())
  }

  /** Orderly: close the WebSocket after what is queued, end TCP after what is queued. */
  const shutdown = (code: number, reason: string) => {
    closeWs(code, reason)
    if (!tcp.destroyed) tcp.end()
    // A peer that never finishes its side must not hold the tunnel open forever.
    setTimeout(() => {
      if (!wsClosed) ws.terminate()
      if (!tcp.destroyed) tcp.destroy()
    }, 5000).unref?.()
  }

  const closeWs = (code: number, reason: string) => {
    if (ws.readyState === OPEN) {
      closeCode = code
      ws.close(code, reason)
    }
  }

  // TCP → relay
  const onSent = (err?: Error) => {
    if (err) return
    if (tcpPausedByUs && ws.bufferedAmount <= low) {
      tcpPausedByUs = false
      tcp.resume()
    }
  }
  tcp.on('data', (chunk: Buffer) => {
    if (ws.readyState !== OPEN) return
    bytesToRelay += chunk.length
    touch()
    ws.send(chunk, {binary: true}, onSent)
    if (ws.bufferedAmount > high && !tcpPausedByUs) {
      tcpPausedByUs = true
      tcp.pause()
    }
  })
  tcp.on('end', () => {
    // The TCP side finished: everything it sent is queued on the WebSocket before the Close.
    first('tcp')
    closeWs(1000, 'Shutdown')
  })
  tcp.on('error', (e: NodeJS.ErrnoException) => {
    first('error', `tcp: ${e.code ?? e.message}`)
    if (ws.readyState === OPEN) {
      closeCode = 1011
      ws.close(1011, `TCP ${e.code ?? 'error'}`.slice(0, 120))
    }
  })
  tcp.on('close', () => {
    tcpClosed = true
    closeWs(1000, 'Shutdown')
    finish()
  })

  // relay → TCP
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], _isBinary: boolean) => {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
    bytesFromRelay += buf.length
    touch()
    if (tcp.destroyed || tcp.writableEnded) return
    // Pause the relay side only when TCP has a high-water mark's worth queued (not at the
    // socket's 16 KiB default): pausing per message would cost an event-loop turn each.
    if (!tcp.write(buf) && tcp.writableLength >= high && !ws.isPaused) {
      ws.pause()
      tcp.once('drain', () => ws.resume())
    }
  })
  ws.on('close', (code: number, reason: Buffer) => {
    wsClosed = true
    if (closeCode === undefined) closeCode = code
    const normal = code === 1000 || code === 1001 || code === 1005
    if (normal) {
      first('relay')
      if (!tcp.destroyed) tcp.end()
    } else {
      first('error', `relay closed ${code}${reason.length ? ` ${reason.toString('utf8').slice(0, 200)}` : ''}`)
      tcp.destroy()
    }
    finish()
  })
  ws.on('error', (e: Error) => {
    first('error', `relay: ${e.message}`)
    tcp.destroy()
  })

  const onAbort = () => {
    first('abort')
    shutdown(1001, 'Going away')
  }
  if (options.signal?.aborted) queueMicrotask(onAbort)
  else options.signal?.addEventListener('abort', onAbort, {once: true})

  // A WebSocket that was already closed before we got it.
  if (ws.readyState > OPEN) {
    wsClosed = true
    tcp.destroy()
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
