import type {Duplex} from 'node:stream'

import {sanitizeReasonPhrase} from '../../lib/relay/protocol.js'

/**
 * Refuses a WebSocket upgrade with a status and a reason phrase of our choosing. Neither `ws`
 * nor Node's http lets `abortHandshake` set an arbitrary reason phrase (relay-protocol.md §3.2),
 * and the relay puts its whole error text there, so the status line is written by hand.
 */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, extraHeaders: Record<string, string> = {}): void {
  if (socket.destroyed) return
  const phrase = sanitizeReasonPhrase(reason)
  const lines = [`HTTP/1.1 ${status} ${phrase}`, 'Connection: close', 'Content-Length: 0']
  for (const [k, v] of Object.entries(extraHeaders)) lines.push(`${k}: ${sanitizeReasonPhrase(v)}`)
  socket.on('error', () => {})
  socket.end(`${lines.join('\r\n')}\r\n\r\n`)
  // A peer that never reads must not keep the socket alive.
  const timer = setTimeout(() => socket.destroy(), 5000)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
}
