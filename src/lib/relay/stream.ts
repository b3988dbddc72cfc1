import type {Socket} from 'node:net'
import {Duplex} from 'node:stream'

import type {RawWebSocket} from './raw-websocket.js'
import {pipeTunnel, type Tunnel, type TunnelOptions} from './tunnel.js'

/**
 * A relay WebSocket as a byte stream (a Duplex), for the library's callers that read and write
 * it themselves (`relay test`, diagnostics). It is a tunnel (tunnel.ts) whose TCP side is an
 * in-memory pipe, so it has the same half-close: `end()` sends Close 1000 "Shutdown" and reading
 * goes on until the peer's Close, which ends the readable side ('end') while writing stays
 * possible until `end()`. Writes become binary frames; reads are payload bytes (message
 * boundaries are not kept). A Close other than 1000/1001/none, or a dropped connection,
 * destroys the stream with an error saying so.
 */
export interface RelayStream extends Duplex {
  /** The tunnel underneath: its state, its byte counts and how it ended. */
  readonly tunnel: Tunnel
}

export function relayStream(ws: RawWebSocket, options: Pick<TunnelOptions, 'closeTimeoutMs' | 'idleTimeoutMs' | 'signal'> = {}): RelayStream {
  const [inner, outer] = duplexPair()
  // The tunnel resets its TCP side on an abnormal close: the stream's user hears why.
  inner.resetError = () => new Error(`The relay connection ended abnormally: ${tunnel.stats().error ?? 'reset'}`)
  // The tunnel only uses the socket surface a Duplex has (data/end/close, write/end/destroy).
  const tunnel: Tunnel = pipeTunnel(ws, inner as unknown as Socket, options)
  return Object.assign(outer, {tunnel})
}

/** Two Duplex ends joined back to back: what one writes the other reads (Node 22 has stream.duplexPair). */
function duplexPair(): [PairEnd, PairEnd] {
  const a = new PairEnd()
  const b = new PairEnd()
  a.other = b
  b.other = a
  return [a, b]
}

class PairEnd extends Duplex {
  other!: PairEnd
  /** The error the other end sees when this one is destroyed without one. */
  resetError: (() => Error) | undefined
  /** The other end's write waiting until this end's reader wants more. */
  private waitingWrite: (() => void) | undefined

  constructor() {
    super({allowHalfOpen: true})
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.other.push(chunk)) callback()
    else this.other.waitingWrite = callback
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.other.push(null)
    callback()
  }

  override _read(): void {
    const resume = this.waitingWrite
    this.waitingWrite = undefined
    resume?.()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const {other} = this
    // Destroyed before both ways finished (an error, a reset): the other end learns of it.
    const clean = !error && this.writableFinished && this.readableEnded
    if (!clean && !other.destroyed) other.destroy(error ?? this.resetError?.())
    callback(error)
  }
}
