import {performance} from 'node:perf_hooks'

import type {CloudProfile} from '../azure/clouds.js'
import {redactText} from '../output/redact.js'
import {credentialsFromKey} from '../relay/credentials.js'
import type {SenderConnection} from '../relay/sender.js'
import {round2} from './stats.js'

/**
 * The round trip of `hcctl check`: connect to a hybrid connection as a sender, with the app's
 * own key, the way App Service does. Accepted means relay and agent work end to end; a
 * rejection carries the agent's status and reason. Optionally the endpoint itself is probed
 * through the tunnel (`send`/`expect`, or an HTTP HEAD). A `send` probe that has no matching
 * answer after a moment shuts down its sending side (a WebSocket Close 1000 "Shutdown", which
 * the agent turns into a TCP FIN, as `nc -N` does) and keeps reading, so endpoints that answer
 * only after EOF (`wc -c`, HTTP/1.0-style servers) answer too.
 */
export interface RoundTripOptions {
  cloud: CloudProfile
  namespace: string
  hybridConnection: string
  keyName: string
  key: string
  attempts: number
  timeoutMs: number
  /** Bytes to send once connected (UTF-8), and what the answer must match. */
  send?: string
  expect?: RegExp
  /** Send a HEAD request for `httpHost` and expect an HTTP status line. */
  probe?: 'http'
  /** Host header for --probe http (the endpoint's host:port). */
  httpHost?: string
  /** Local clock (the clock-skew knob): tokens are signed with it. */
  now?: () => number
  signal?: AbortSignal
  /** Test seam. */
  connect?: (o: {cloud: CloudProfile; credentials: ReturnType<typeof credentialsFromKey>; headers: Record<string, string>; timeoutMs: number; signal?: AbortSignal}) => Promise<SenderConnection>
}

export interface RoundTripAttempt {
  seq: number
  accepted: boolean
  connectMs?: number
  /** Relay/agent refusal: the HTTP status and reason the sender saw. */
  status?: number
  reason?: string
  /** RelayError code (NoListener, RejectedByListener, RelayUnauthorized, ...). */
  code?: string
  message?: string
  probe?: {ok: boolean; answer?: string; error?: string; timeMs?: number}
}

export interface RoundTripResult {
  attempts: RoundTripAttempt[]
  accepted: number
  probed: number
  probesOk: number
}

async function defaultConnect(o: Parameters<NonNullable<RoundTripOptions['connect']>>[0]): Promise<SenderConnection> {
  const {connectSender} = await import('../relay/sender.js')
  return connectSender({cloud: o.cloud, credentials: o.credentials, headers: o.headers, timeoutMs: o.timeoutMs, signal: o.signal})
}

function printable(buf: Buffer): string {
  // eslint-disable-next-line no-control-regex
  return buf.toString('utf8').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '.').slice(0, 200)
}

/** How long a `send` probe waits for a matching answer before it half-closes (at most half the timeout). */
const SHUTDOWN_AFTER_MS = 1000

/** Sends the probe on an open sender socket and waits for an answer that satisfies it. */
function probeOver(conn: SenderConnection, o: RoundTripOptions): Promise<NonNullable<RoundTripAttempt['probe']>> {
  const started = performance.now()
  const payload = o.probe === 'http' ? `HEAD / HTTP/1.1\r\nHost: ${o.httpHost ?? 'localhost'}\r\nUser-Agent: hcctl-check\r\nConnection: close\r\n\r\n` : (o.send ?? '')
  const want = o.probe === 'http' ? /^HTTP\/\d(?:\.\d)? \d{3}/ : o.expect
  return new Promise((resolve) => {
    let received = Buffer.alloc(0)
    const done = (r: NonNullable<RoundTripAttempt['probe']>) => {
      clearTimeout(timer)
      clearTimeout(shutdown)
      conn.ws.removeAllListeners('message')
      conn.ws.removeAllListeners('close')
      resolve({...r, timeMs: round2(performance.now() - started)})
    }
    const timer = setTimeout(
      () => done(received.length > 0 ? {ok: false, answer: printable(received), error: `the answer does not match ${want}`} : {ok: false, error: `no answer within ${o.timeoutMs} ms`}),
      o.timeoutMs,
    )
    conn.ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)
      received = Buffer.concat([received, chunk]).subarray(0, 64 * 1024)
      const text = received.toString('utf8')
      if (!want || want.test(text)) done({ok: true, answer: printable(received)})
    })
    conn.ws.on('close', () =>
      done(received.length > 0 && (!want || want.test(received.toString('utf8'))) ? {ok: true, answer: printable(received)} : {ok: false, answer: received.length > 0 ? printable(received) : undefined, error: 'the endpoint closed the connection without a matching answer'}),
    )
    conn.ws.send(Buffer.from(payload, 'utf8'))
    // HTTP servers close by themselves (Connection: close), and some drop a request whose
    // client half-closed; other endpoints may wait for EOF before they answer.
    const shutdown = o.probe === 'http' ? undefined : setTimeout(() => conn.ws.close(1000, 'Shutdown'), Math.min(SHUTDOWN_AFTER_MS, o.timeoutMs / 2))
  })
}

export async function roundTrip(o: RoundTripOptions): Promise<RoundTripResult> {
  const credentials = credentialsFromKey({host: `${o.namespace}${o.cloud.relaySuffix}`, entity: o.hybridConnection, keyName: o.keyName, key: o.key}, o.now ?? Date.now)
  const connect = o.connect ?? defaultConnect
  const attempts: RoundTripAttempt[] = []
  for (let seq = 1; seq <= o.attempts && !o.signal?.aborted; seq++) {
    const started = performance.now()
    let conn: SenderConnection
    try {
      conn = await connect({cloud: o.cloud, credentials, headers: {'x-hcctl-probe': `check-${seq}`}, timeoutMs: o.timeoutMs, signal: o.signal})
    } catch (error) {
      const e = error as {code?: string; status?: number; reason?: string; message?: string}
      attempts.push({
        seq,
        accepted: false,
        connectMs: round2(performance.now() - started),
        ...(e.code ? {code: e.code} : {}),
        ...(e.status !== undefined ? {status: e.status} : {}),
        ...(e.reason ? {reason: redactText(e.reason)} : {}),
        message: redactText(e.message ?? String(error)),
      })
      continue
    }
    const attempt: RoundTripAttempt = {seq, accepted: true, connectMs: round2(performance.now() - started)}
    try {
      if (o.send !== undefined || o.probe) attempt.probe = await probeOver(conn, o)
    } finally {
      conn.ws.removeAllListeners()
      conn.ws.on('error', () => {})
      conn.ws.terminate()
    }
    attempts.push(attempt)
  }
  const accepted = attempts.filter((a) => a.accepted).length
  const probed = attempts.filter((a) => a.probe).length
  return {attempts, accepted, probed, probesOk: attempts.filter((a) => a.probe?.ok).length}
}
