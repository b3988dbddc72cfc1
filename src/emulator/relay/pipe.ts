import type {RawData, WebSocket} from 'ws'

import {forwardedCloseCode, truncateCloseReason} from '../../lib/relay/protocol.js'

/** Pause a producer when its consumer has more than this many bytes queued. */
export const HIGH_WATER_MARK = 1024 * 1024
/** Resume it when the consumer's queue drains below this. */
export const LOW_WATER_MARK = 256 * 1024

export interface PipeOptions {
  highWaterMark?: number
  lowWaterMark?: number
  /** Called once when both legs are closed. */
  onClosed?: () => void
}

/**
 * Relays two established WebSockets into each other (relay-protocol.md §3.3): every message
 * keeps its type (text or binary) and boundaries, close codes are forwarded (1005 → 1000,
 * 1006 → 1001), and a slow consumer pauses the producer's socket (no unbounded buffering:
 * the producer stops reading once the consumer has `highWaterMark` bytes queued, so TCP
 * flow control reaches the original sender).
 */
export function pipeWebSockets(a: WebSocket, b: WebSocket, options: PipeOptions = {}): void {
  const high = options.highWaterMark ?? HIGH_WATER_MARK
  const low = options.lowWaterMark ?? LOW_WATER_MARK
  let closed = 0
  const onClose = (): void => {
    closed += 1
    if (closed === 2) options.onClosed?.()
  }
  oneWay(a, b, high, low)
  oneWay(b, a, high, low)
  a.once('close', onClose)
  b.once('close', onClose)
}

function oneWay(from: WebSocket, to: WebSocket, high: number, low: number): void {
  let paused = false
  const maybeResume = (): void => {
    if (paused && to.bufferedAmount <= low) {
      paused = false
      from.resume()
    }
  }
  from.on('message', (data: RawData, isBinary: boolean) => {
    if (to.readyState !== to.OPEN) return
    to.send(data as Buffer | Buffer[], {binary: isBinary}, () => maybeResume())
    if (!paused && to.bufferedAmount > high) {
      paused = true
      from.pause()
    }
  })
  from.on('close', (code: number, reason: Buffer) => {
    if (paused) from.resume()
    if (to.readyState === to.OPEN || to.readyState === to.CONNECTING) {
      to.close(forwardedCloseCode(code), truncateCloseReason(reason.toString('utf8')))
    }
  })
  to.on('close', () => {
    // A paused producer would never read the Close handshake's answer.
    if (paused) {
      paused = false
      from.resume()
    }
  })
  from.on('error', () => {
    // 'close' follows with 1006, which is forwarded as 1001.
  })
}
