import {createHash, randomBytes, randomUUID} from 'node:crypto'
import {once} from 'node:events'
import {performance} from 'node:perf_hooks'

import type {CloudProfile} from '../azure/clouds.js'
import {redactText} from '../output/redact.js'
import type {HybridConnectionCredentials} from '../relay/credentials.js'
import {withDeadline} from '../deadline.js'
import {isRelayError, RelayError} from '../relay/errors.js'
import type {AcceptRequest, RelayListener} from '../relay/listener.js'
import type {RelayStream} from '../relay/stream.js'
import {type RelayTransport, transportFromCloud} from '../relay/transport.js'
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

/**
 * `hcctl relay test`: a listener and a sender of our own on one hybrid connection, measuring the
 * relay path from this machine independently of any agent. Our connections carry a connect
 * header with this run's id, so connections that the relay hands to another listener (an agent
 * on the same hybrid connection) are recognised and left out of the numbers, and foreign
 * senders that reach our listener are refused. The streams half-close as TCP does (stream.ts):
 * the bulk transfer ends its sending side after its last byte and reads the echo to its end.
 */
export async function relayTest(o: RelayTestOptions): Promise<RelayTestResult> {
  const transport = transportFromCloud(o.cloud)
  const runId = randomUUID().slice(0, 8)
  const warnings: string[] = []
  if (o.listenerCountBefore && o.listenerCountBefore > 0) {
    warnings.push(
      `${o.listenerCountBefore} agent${o.listenerCountBefore === 1 ? ' is' : 's are'} already listening on ${o.send.entity}: the relay spreads senders at random, so some test connections reach ${o.listenerCountBefore === 1 ? 'it' : 'them'} (left out of the numbers) and app traffic may reach the test's listener (refused while the test runs). Use --scratch to test on a temporary hybrid connection.`,
    )
  }
  const echo = await startEchoListener(o, transport, runId)
  const t0 = performance.now()
  o.progress?.(`opening a listener on ${o.listen.host}/${o.listen.entity}`)
  await withDeadline<void>(
    {
      timeoutMs: o.timeoutMs,
      signal: o.signal,
      timeoutError: () => new RelayError('RelayTimeout', `The test's listener on ${o.listen.entity} was not listening after ${o.timeoutMs} ms (--timeout).`),
    },
    (settle) => {
      echo.listener.start().then(() => settle(), (error: Error) => settle(error))
      return (error) => {
        if (error) void echo.listener.stop()
      }
    },
  )
  const readyMs = round2(performance.now() - t0)
  o.progress?.(`listening on ${o.listen.host}/${o.listen.entity} after ${readyMs} ms`)

  let conns: Connections | undefined
  let rtts: number[] = []
  let bulk: RelayTestResult['bulk']
  try {
    conns = await openConnections(o, transport, runId, echo.ownTags)
    if (conns.foreign > 0 && !o.listenerCountBefore) warnings.push(`${conns.foreign} test connection${conns.foreign === 1 ? '' : 's'} reached another listener on ${o.send.entity} (an agent?); they are left out of the numbers.`)
    if (conns.kept) {
      o.progress?.(`echoing ${o.count} × ${o.size} bytes`)
      rtts = await echoRoundTrips(conns.kept, o)
      if (o.bulkBytes > 0 && !o.signal?.aborted) {
        o.progress?.(`bulk transfer of ${o.bulkBytes} bytes`)
        bulk = await bulkTransfer(conns.kept, o)
      }
    }
  } finally {
    conns?.kept?.tunnel.close('Test done')
    for (const s of echo.ownStreams) s.destroy()
    await echo.listener.stop()
  }

  const {kept, connectTimes, errors, attempted, foreign, failed} = conns
  const received = kept ? rtts.length : 0
  const lost = kept ? o.count - received : o.count
  const echoResult = {count: o.count, size: o.size, received, lost, lossPercent: round2((lost / Math.max(o.count, 1)) * 100), ...(rtts.length ? {rttMs: latencyStats(rtts, [50, 99])} : {})}
  return {
    hybridConnection: `${o.send.host}/${o.send.entity}`,
    warnings,
    listener: {readyMs, foreignAccepts: echo.foreignAccepts()},
    connections: {attempted, own: connectTimes.length, foreign, failed, errors: [...errors].map(([e, n]) => `${n}× ${e}`), ...(connectTimes.length ? {connectMs: latencyStats(connectTimes, [50])} : {})},
    echo: echoResult,
    ...(bulk ? {bulk} : {}),
    ok: Boolean(kept) && failed === 0 && echoResult.lost === 0 && (bulk === undefined ? o.bulkBytes === 0 : bulk.intact),
  }
}

/** The test's listener: echoes its own connections (a pipe, which half-closes after the sender), refuses others. */
async function startEchoListener(o: RelayTestOptions, transport: RelayTransport, runId: string): Promise<{listener: RelayListener; ownTags: Set<string>; ownStreams: Set<RelayStream>; foreignAccepts: () => number}> {
  const {RelayListener} = await import('../relay/listener.js')
  const ownTags = new Set<string>()
  const ownStreams = new Set<RelayStream>()
  let foreignAccepts = 0
  const listener = new RelayListener({credentials: o.listen, transport, backoffMinMs: 100})
  listener.on('accept', (req: AcceptRequest) => {
    const tag = headerValue(req.connectHeaders, RELAY_TEST_HEADER)
    if (!tag || !tag.startsWith(`${runId}-`)) {
      foreignAccepts++
      req.reject(503, 'hcctl relay test listener: not an agent, try again').catch(() => {})
      return
    }
    ownTags.add(tag)
    req
      .acceptStream()
      .then((stream) => {
        ownStreams.add(stream)
        stream.on('error', () => {})
        stream.pipe(stream)
      })
      .catch(() => ownTags.delete(tag))
  })
  listener.on('warning', () => {})
  return {listener, ownTags, ownStreams, foreignAccepts: () => foreignAccepts}
}

interface Connections {
  /** The first of our own connections, kept for the echo and bulk phases. */
  kept?: RelayStream
  connectTimes: number[]
  errors: Map<string, number>
  attempted: number
  foreign: number
  failed: number
}

/** Opens the sender connections (connect time measured on each); keeps the first of our own. */
async function openConnections(o: RelayTestOptions, transport: RelayTransport, runId: string, ownTags: Set<string>): Promise<Connections> {
  const [{openSenderRaw}, {relayStream}] = await Promise.all([import('../relay/sender.js'), import('../relay/stream.js')])
  const out: Connections = {connectTimes: [], errors: new Map(), attempted: 0, foreign: 0, failed: 0}
  // --timeout bounds each connect; the retries for a first own connection share one more --timeout.
  const extraUntil = performance.now() + o.connections * o.timeoutMs + o.timeoutMs
  o.progress?.(`connecting ${o.connections} sender${o.connections === 1 ? '' : 's'} (each within ${o.timeoutMs} ms)`)
  while (!o.signal?.aborted && (out.attempted < o.connections || (!out.kept && out.attempted < o.connections + MAX_EXTRA_ATTEMPTS && performance.now() < extraUntil))) {
    out.attempted++
    const tag = `${runId}-${out.attempted}`
    const started = performance.now()
    try {
      const conn = await openSenderRaw(o.send, transport, {headers: {[RELAY_TEST_HEADER]: tag}, timeoutMs: o.timeoutMs, signal: o.signal})
      const ms = round2(performance.now() - started)
      const stream = relayStream(conn.ws, {closeTimeoutMs: o.timeoutMs})
      stream.on('error', () => {})
      o.onResult?.({kind: 'connect', attempt: out.attempted, outcome: ownTags.has(tag) ? 'own' : 'foreign', ms})
      if (ownTags.has(tag)) {
        out.connectTimes.push(ms)
        if (!out.kept) out.kept = stream
        else stream.end()
      } else {
        out.foreign++
        stream.tunnel.close('Not the test listener')
      }
    } catch (error) {
      if (isRelayError(error, 'RejectedByListener') && !ownTags.has(tag)) {
        // Another listener (an agent whose endpoint is down, say) refused it: not the relay path.
        out.foreign++
        o.onResult?.({kind: 'connect', attempt: out.attempted, outcome: 'foreign'})
        continue
      }
      out.failed++
      const text = isRelayError(error) ? `${error.code}${error.status ? ` ${error.status}` : ''}${error.reason ? ` ${error.reason}` : ''}` : (error as Error).message
      const key = redactText(text).slice(0, 200)
      out.errors.set(key, (out.errors.get(key) ?? 0) + 1)
      o.onResult?.({kind: 'connect', attempt: out.attempted, outcome: 'failed', error: key})
      if (isRelayError(error, 'RelayUnauthorized') || isRelayError(error, 'HybridConnectionNotFound')) break
    }
  }
  return out
}

/**
 * Sequential echoes of `size`-byte records (the first 4 bytes carry the sequence number), one
 * in flight at a time; a record not back within the timeout is lost. Returns the round trips.
 */
async function echoRoundTrips(stream: RelayStream, o: RelayTestOptions): Promise<number[]> {
  const size = Math.max(4, o.size)
  const rtts: number[] = []
  let buffered: Buffer = Buffer.alloc(0)
  let waiting: {seq: number; resolve: (t: number) => void} | undefined
  const onData = (d: Buffer) => {
    buffered = buffered.length === 0 ? d : Buffer.concat([buffered, d])
    while (buffered.length >= size) {
      const seq = buffered.readUInt32BE(0)
      buffered = buffered.subarray(size)
      if (waiting?.seq === seq) waiting.resolve(performance.now())
    }
  }
  stream.on('data', onData)
  const payload = randomBytes(size)
  for (let seq = 1; seq <= o.count && !o.signal?.aborted; seq++) {
    payload.writeUInt32BE(seq, 0)
    const sent = performance.now()
    const answered = await new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), o.timeoutMs)
      waiting = {
        seq,
        resolve: (t) => {
          clearTimeout(timer)
          resolve(t)
        },
      }
      stream.write(Buffer.from(payload))
    })
    waiting = undefined
    if (answered !== undefined) rtts.push(answered - sent)
    o.onResult?.({kind: 'echo', seq, count: o.count, ...(answered === undefined ? {} : {rttMs: round2(answered - sent)})})
  }
  stream.off('data', onData)
  return rtts
}

/** Sends `bulkBytes`, ends the sending side (a half-close), and reads the echo to its end. */
async function bulkTransfer(stream: RelayStream, o: RelayTestOptions): Promise<NonNullable<RelayTestResult['bulk']>> {
  const sentHash = createHash('sha256')
  const gotHash = createHash('sha256')
  let got = 0
  const started = performance.now()
  stream.on('data', (b: Buffer) => {
    gotHash.update(b)
    got += b.length
  })
  const ended = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(o.timeoutMs, 30_000))
    const done = (ok: boolean) => {
      clearTimeout(timer)
      resolve(ok)
    }
    stream.once('end', () => done(true))
    stream.once('error', () => done(false))
  })
  const chunk = 64 * 1024
  for (let off = 0; off < o.bulkBytes && !stream.destroyed; off += chunk) {
    const piece = randomBytes(Math.min(chunk, o.bulkBytes - off))
    sentHash.update(piece)
    if (!stream.write(piece)) await Promise.race([once(stream, 'drain'), ended])
  }
  stream.end()
  const complete = await ended
  const ms = performance.now() - started
  return {
    bytes: o.bulkBytes,
    ms: round2(ms),
    megabytesPerSecond: round2(o.bulkBytes / 1_048_576 / (ms / 1000)),
    intact: complete && got === o.bulkBytes && sentHash.digest('hex') === gotHash.digest('hex'),
  }
}
