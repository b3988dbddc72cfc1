import type {IncomingMessage, ServerResponse} from 'node:http'
import {randomUUID} from 'node:crypto'
import type {Duplex} from 'node:stream'

import {formatReason, RelayMessage, parseRelayTarget, sanitizeReasonPhrase} from '../../lib/relay/protocol.js'
import type {RelayBroker, RelayBrokerOptions, RelayFaults} from '../contracts.js'

/**
 * The relay data plane of the emulator (relay-protocol.md §8). Skeleton: every relay request
 * is answered 404 `Endpoint does not exist` until the real broker lands.
 */
export function createRelayBroker(options: RelayBrokerOptions): RelayBroker {
  const now = options.now ?? Date.now
  let faults: RelayFaults = {}

  const hostOf = (req: IncomingMessage): string => String(req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()

  return {
    isRelayRequest(req) {
      const target = req.url ?? '/'
      if (/^\/(\$|%24)hc(\/|\?|$)/i.test(target)) return true
      const suffix = options.relaySuffix.toLowerCase()
      const host = hostOf(req)
      return suffix !== '' && host.endsWith(suffix) && host.length > suffix.length
    },
    handleUpgrade(req, socket: Duplex) {
      const parsed = safeParse(req.url ?? '/')
      const reason = formatReason(RelayMessage.EndpointNotFound, {trackingId: randomUUID(), host: hostOf(req), entityPath: parsed, now: now()})
      socket.on('error', () => {})
      socket.end(`HTTP/1.1 404 ${sanitizeReasonPhrase(reason)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    },
    handleRequest(req, res: ServerResponse) {
      const parsed = safeParse(req.url ?? '/')
      const reason = formatReason(RelayMessage.EndpointNotFound, {trackingId: randomUUID(), host: hostOf(req), entityPath: parsed, now: now()})
      res.statusCode = 404
      res.statusMessage = reason
      res.end()
    },
    setFaults(next) {
      faults = {...next}
      void faults
    },
    dropListeners() {
      return 0
    },
    listenerCount() {
      return 0
    },
    entityDeleted() {},
    async close() {},
  }
}

function safeParse(target: string): string {
  try {
    return parseRelayTarget(target).path
  } catch {
    return ''
  }
}
