import {createHash, randomBytes, randomUUID} from 'node:crypto'
import {performance} from 'node:perf_hooks'

import type {WebSocket} from 'ws'

import type {CloudProfile} from '../azure/clouds.js'
import {redactText} from '../output/redact.js'
import type {HybridConnectionCredentials} from '../relay/credentials.js'
import {isRelayError} from '../relay/errors.js'
import {transportFromCloud} from '../relay/transport.js'
import {type LatencyStats, latencyStats, round2} from './stats.js'

/** The connect header that marks the test's own connections. */
export const RELAY_TEST_HEADER = 'x-hcctl-relay-test'

export interface RelayTestOptions {
  cloud: CloudProfile
  /** Credentials with Listen (for the test's listener) and with Send (for its sender). */
  listen: HybridConnectionCredentials
  send: HybridConnectionCredentials
  /** Echoed messages and their size in bytes. */
  count: number
  size: number
  /** Bytes for the bulk transfer (echoed back); 0 skips it. */
  bulkBytes: number
  /** Sender connections to open (connect time is measured on each). */
  connections: number
  timeoutMs: number
  /** Agents already listening (from ARM), to warn about. */
  listenerCountBefore?: number
  signal?: AbortSignal
  progress?: (message: string) => void
  /** Each measurement as it happens (a connect, an echo), for people watching. */
  onResult?: (event: RelayTestEvent) => void
}

export type RelayTestEvent =
  | {kind: 'connect'; attempt: number; outcome: 'own' | 'foreign' | 'failed'; ms?: number; error?: string}
  | {kind: 'echo'; seq: number; count: number; rttMs?: number}

export interface RelayTestResult {
  hybridConnection: string
  warnings: string[]
  listener: {readyMs: number; foreignAccepts: number}
  connections: {attempted: number; own: number; foreign: number; failed: number; errors: string[]; connectMs?: LatencyStats}
  echo: {count: number; size: number; received: number; lost: number; lossPercent: number; rttMs?: LatencyStats}
  bulk?: {bytes: number; ms: number; megabytesPerSecond: number; intact: boolean}
  ok: boolean
}

const MAX_EXTRA_ATTEMPTS = 20

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name)
  return key ? headers[key] : undefined
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)
}

/**
 * `hcctl relay test`: a listener and a sender of our own on one hybrid connection, measuring the
 * relay path from this machine independently of any agent. Our connections carry a connect
 * header with this run's id, so connections that the relay hands to another listener (an agent
 * on the same hybrid connection) are recognised and left out of the numbers, and foreign
 * senders that reach our listener are refused.
 */
export async function relayTest(o: RelayTestOptions): Promise<RelayTestResult> {
  const [{RelayListener}, {openSender}] = await Promise.all([import('../relay/listener.js'), import('../relay/sender.js')])
  const transport = transportFromCloud(o.cloud)
  const runId = randomUUID().slice(0, 8)
  const warnings: string[] = []
  if (o.listenerCountBefore && o.listenerCountBefore > 0) {
    warnings.push(
      `${o.listenerCountBefore} agent${o.listenerCountBefore === 1 ? ' is' : 's are'} already listening on ${o.send.entity}: the relay spreads senders at random, so some test connections reach ${o.listenerCountBefore === 1 ? 'it' : 'them'} (left out of the numbers) and app traffic may reach the test's listener (refused while the test runs). Use --scratch to test on a temporary hybrid connection.`,
    )
  }
  const ownTags = new Set<string>()
  const ownSockets = new Map<string, WebSocket>()
  let foreignAccepts = 0
  const listener = new RelayListener({credentials: o.listen, transport, backoffMinMs: 100})
  listener.on('accept', (req: {connectHeaders: Record<string, string>; accept(): Promise<WebSocket>; reject(s: number, d: string): Promise<void>}) => {
    const tag = headerValue(req.connectHeaders, RELAY_TEST_HEADER)
    if (!tag || !tag.startsWith(`${runId}-`)) {
      foreignAccepts++
      req.reject(503, 'hcctl relay test listener: not an agent, try again').catch(() => {})
      return
    }
    ownTags.add(tag)
    req
      .accept()
      .then((ws) => {
        ownSockets.set(tag, ws)
        ws.on('message', (data, isBinary) => ws.send(data as Buffer, {binary: isBinary}))
        ws.on('error', () => {})
      })
      .catch(() => ownTags.delete(tag))
  })
  listener.on('warning', () => {})
  const t0 = performance.now()
  await listener.start()
  const readyMs = round2(performance.now() - t0)
  o.progress?.(`listening on ${o.listen.host}/${o.listen.entity} after ${readyMs} ms`)

  const connectTimes: number[] = []
  const errors = new Map<string, number>()
  let attempted = 0
  let foreign = 0
  let failed = 0
  let kept: WebSocket | undefined
  const rtts: number[] = []
  let received = 0
  let bulk: RelayTestResult['bulk']
  try {
    while (!o.signal?.aborted && (attempted < o.connections || (!kept && attempted < o.connections + MAX_EXTRA_ATTEMPTS))) {
      attempted++
      const tag = `${runId}-${attempted}`
      const started = performance.now()
      try {
        const conn = await openSender(o.send, transport, {headers: {[RELAY_TEST_HEADER]: tag}, timeoutMs: o.timeoutMs, signal: o.signal})
        const ms = round2(performance.now() - started)
        conn.ws.on('error', () => {})
        o.onResult?.({kind: 'connect', attempt: attempted, outcome: ownTags.has(tag) ? 'own' : 'foreign', ms})
        if (ownTags.has(tag)) {
          connectTimes.push(ms)
          if (!kept) kept = conn.ws
          else conn.ws.close(1000)
        } else {
          foreign++
          conn.ws.close(1000)
        }
      } catch (error) {
        if (isRelayError(error, 'RejectedByListener') && !ownTags.has(tag)) {
          // Another listener (an agent whose endpoint is down, say) refused it: not the relay path.
          foreign++
          o.onResult?.({kind: 'connect', attempt: attempted, outcome: 'foreign'})
          continue
        }
        failed++
        const text = isRelayError(error) ? `${error.code}${error.status ? ` ${error.status}` : ''}${error.reason ? ` ${error.reason}` : ''}` : (error as Error).message
        const key = redactText(text).slice(0, 200)
        errors.set(key, (errors.get(key) ?? 0) + 1)
        o.onResult?.({kind: 'connect', attempt: attempted, outcome: 'failed', error: key})
        if (isRelayError(error, 'RelayUnauthorized') || isRelayError(error, 'HybridConnectionNotFound')) break
      }
    }
    if (foreign > 0 && !o.listenerCountBefore) warnings.push(`${foreign} test connection${foreign === 1 ? '' : 's'} reached another listener on ${o.send.entity} (an agent?); they are left out of the numbers.`)

    if (kept) {
      o.progress?.(`echoing ${o.count} × ${o.size} bytes`)
      const ws = kept
      const waiting = new Map<number, (t: number) => void>()
      let bulkSink: ((b: Buffer) => void) | undefined
      ws.on('message', (data) => {
        const buf = toBuffer(data as Buffer)
        if (bulkSink) return bulkSink(buf)
        if (buf.length >= 4) waiting.get(buf.readUInt32BE(0))?.(performance.now())
      })
      const payload = randomBytes(Math.max(4, o.size))
      for (let seq = 1; seq <= o.count && !o.signal?.aborted; seq++) {
        payload.writeUInt32BE(seq, 0)
        const sent = performance.now()
        const answered = await new Promise<number | undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), o.timeoutMs)
          waiting.set(seq, (t) => {
            clearTimeout(timer)
            resolve(t)
          })
          ws.send(payload, {binary: true})
        })
        waiting.delete(seq)
        if (answered !== undefined) {
          received++
          rtts.push(answered - sent)
        }
        o.onResult?.({kind: 'echo', seq, count: o.count, ...(answered === undefined ? {} : {rttMs: round2(answered - sent)})})
      }
      if (o.bulkBytes > 0 && !o.signal?.aborted) {
        o.progress?.(`bulk transfer of ${o.bulkBytes} bytes`)
        const sentHash = createHash('sha256')
        const gotHash = createHash('sha256')
        let got = 0
        const started = performance.now()
        const done = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), Math.max(o.timeoutMs, 30_000))
          bulkSink = (b) => {
            gotHash.update(b)
            got += b.length
            if (got >= o.bulkBytes) {
              clearTimeout(timer)
              resolve(true)
            }
          }
        })
        const chunk = 64 * 1024
        for (let off = 0; off < o.bulkBytes; off += chunk) {
          const piece = randomBytes(Math.min(chunk, o.bulkBytes - off))
          sentHash.update(piece)
          ws.send(piece, {binary: true})
          if (ws.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 5))
        }
        const complete = await done
        const ms = performance.now() - started
        bulk = {
          bytes: o.bulkBytes,
          ms: round2(ms),
          megabytesPerSecond: round2(o.bulkBytes / 1_048_576 / (ms / 1000)),
          intact: complete && got === o.bulkBytes && sentHash.digest('hex') === gotHash.digest('hex'),
        }
      }
    }
  } finally {
    kept?.close(1000)
    for (const ws of ownSockets.values()) ws.terminate()
    await listener.stop()
  }

  const lost = o.count - received
  const echo = {count: o.count, size: o.size, received, lost: kept ? lost : o.count, lossPercent: round2(((kept ? lost : o.count) / Math.max(o.count, 1)) * 100), ...(rtts.length ? {rttMs: latencyStats(rtts, [50, 99])} : {})}
  if (!kept) echo.received = 0
  return {
    hybridConnection: `${o.send.host}/${o.send.entity}`,
    warnings,
    listener: {readyMs, foreignAccepts},
    connections: {attempted, own: connectTimes.length, foreign, failed, errors: [...errors].map(([e, n]) => `${n}× ${e}`), ...(connectTimes.length ? {connectMs: latencyStats(connectTimes, [50])} : {})},
    echo,
    ...(bulk ? {bulk} : {}),
    ok: Boolean(kept) && failed === 0 && echo.lost === 0 && (bulk === undefined ? o.bulkBytes === 0 : bulk.intact),
  }
}
