import type {RelayFaults} from './contracts.js'

/**
 * Fault injection. A spec is a comma-separated list of `key=value` items:
 *
 *   arm.429=N               the next N ARM requests answer 429 SubscriptionRequestsThrottled
 *   arm.retryAfter=S        Retry-After seconds on those 429s (default 1)
 *   arm.5xx=N               the next N ARM requests answer 503 (arm.500=N, arm.502=N ... pick the status)
 *   arm.latency=D           every ARM request waits D first (200ms, 1.5s, or plain milliseconds)
 *   arm.expireTokensEarly=S ARM treats bearer tokens as expiring S seconds before their `exp` (a client
 *                           keeps reusing a token ARM already refuses, as with clock skew; 0 stops)
 *   relay.dropListeners=T   drop listener control channels now: T = all, NAMESPACE or NAMESPACE/HC
 *   relay.refuseRendezvous=STATUS   refuse every rendezvous with this HTTP status (0 = stop)
 *   relay.stallRendezvous=true|false   never answer senders' rendezvous
 *   relay.expireTokensEarly=S   treat relay tokens as expiring S seconds before their `se`
 *   relay.failListen=N      answer the next N listener (control channel) upgrades with 503 (relay.failListenStatus=S for another 5xx)
 *   relay.dropListenersEvery=D   drop every listener control channel every D (200ms, 2s) ...
 *   relay.dropListenersFor=D     ... for D in all (default 20s); `relay.dropListenersEvery=0` stops it
 *
 * Counters count down as they fire; `reset` (alone) clears everything.
 */

export interface ArmFaults {
  /** Pending forced answers, in order: status codes. */
  queue: number[]
  retryAfterSeconds: number
  latencyMs: number
  /** Bearer tokens count as expired this many seconds before their `exp` (0: at `exp`). */
  expireTokensEarlySeconds?: number
}

export interface FaultSpec {
  arm: Partial<ArmFaults> & {statuses?: Array<{status: number; count: number}>}
  relay: RelayFaults
  dropListeners?: {namespace?: string; name?: string}
  /** Listener upgrades to refuse, and with which status. */
  failListen?: {count: number; status?: number}
  /** Repeated drops of every control channel: every `everyMs` for `forMs` (everyMs 0 stops). */
  dropListenersRepeat?: {everyMs?: number; forMs?: number}
  reset?: boolean
}

export class FaultSpecError extends Error {
  override name = 'FaultSpecError'
}

function duration(text: string, key: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/i.exec(text.trim())
  if (!m) throw new FaultSpecError(`${key}=${text}: expected a duration such as 200ms or 1.5s`)
  const n = Number(m[1])
  return Math.round(m[2]?.toLowerCase() === 's' ? n * 1000 : n)
}

function count(text: string, key: string, min = 0): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new FaultSpecError(`${key}=${text}: expected a whole number${min ? ` ≥ ${min}` : ''}`)
  return Number(text)
}

export function parseFaultSpec(spec: string): FaultSpec {
  const out: FaultSpec = {arm: {}, relay: {}}
  for (const raw of spec.split(',')) {
    const item = raw.trim()
    if (!item) continue
    if (item.toLowerCase() === 'reset') {
      out.reset = true
      continue
    }
    const eqAt = item.indexOf('=')
    if (eqAt <= 0) throw new FaultSpecError(`"${item}" is not key=value (e.g. arm.429=2)`)
    const key = item.slice(0, eqAt).trim().toLowerCase()
    const value = item.slice(eqAt + 1).trim()
    const statusKey = /^arm\.(429|5\d\d|5xx)$/.exec(key)
    if (statusKey) {
      const status = statusKey[1] === '5xx' ? 503 : Number(statusKey[1])
      ;(out.arm.statuses ??= []).push({status, count: count(value, key)})
      continue
    }
    switch (key) {
      case 'arm.retryafter':
        out.arm.retryAfterSeconds = count(value, key)
        break
      case 'arm.latency':
        out.arm.latencyMs = duration(value, key)
        break
      case 'arm.expiretokensearly':
        out.arm.expireTokensEarlySeconds = count(value, key)
        break
      case 'relay.droplisteners': {
        if (!value || value.toLowerCase() === 'all' || value === '*') out.dropListeners = {}
        else {
          const slash = value.indexOf('/')
          out.dropListeners = slash === -1 ? {namespace: value} : {namespace: value.slice(0, slash), name: value.slice(slash + 1)}
        }
        break
      }
      case 'relay.refuserendezvous': {
        const status = count(value, key)
        if (status !== 0 && (status < 400 || status > 599)) throw new FaultSpecError(`${key}=${value}: expected an HTTP error status (400-599) or 0 to stop`)
        out.relay.refuseRendezvous = status === 0 ? undefined : status
        break
      }
      case 'relay.stallrendezvous':
        if (!/^(true|false|1|0)$/i.test(value)) throw new FaultSpecError(`${key}=${value}: expected true or false`)
        out.relay.stallRendezvous = /^(true|1)$/i.test(value)
        break
      case 'relay.faillisten':
        out.failListen = {...out.failListen, count: count(value, key)}
        break
      case 'relay.faillistenstatus': {
        const status = count(value, key)
        if (status < 500 || status > 599) throw new FaultSpecError(`${key}=${value}: expected a 5xx status`)
        out.failListen = {count: out.failListen?.count ?? 0, status}
        break
      }
      case 'relay.droplistenersevery':
        out.dropListenersRepeat = {...out.dropListenersRepeat, everyMs: duration(value, key)}
        break
      case 'relay.droplistenersfor':
        out.dropListenersRepeat = {...out.dropListenersRepeat, forMs: duration(value, key)}
        break
      case 'relay.expiretokensearly':
        out.relay.expireTokensEarlySeconds = count(value, key)
        break
      default:
        throw new FaultSpecError(
          `unknown fault "${key}"; known: arm.429, arm.5xx, arm.5NN, arm.retryAfter, arm.latency, arm.expireTokensEarly, relay.dropListeners, relay.refuseRendezvous, relay.stallRendezvous, relay.expireTokensEarly, relay.failListen, relay.failListenStatus, relay.dropListenersEvery, relay.dropListenersFor, reset`,
        )
    }
  }
  return out
}

/** Live fault state of the ARM front door. */
export class ArmFaultState implements ArmFaults {
  queue: number[] = []
  retryAfterSeconds = 1
  latencyMs = 0
  expireTokensEarlySeconds = 0

  apply(spec: FaultSpec): void {
    if (spec.reset) {
      this.queue = []
      this.retryAfterSeconds = 1
      this.latencyMs = 0
      this.expireTokensEarlySeconds = 0
    }
    for (const {status, count} of spec.arm.statuses ?? []) for (let i = 0; i < count; i++) this.queue.push(status)
    if (spec.arm.retryAfterSeconds !== undefined) this.retryAfterSeconds = spec.arm.retryAfterSeconds
    if (spec.arm.latencyMs !== undefined) this.latencyMs = spec.arm.latencyMs
    if (spec.arm.expireTokensEarlySeconds !== undefined) this.expireTokensEarlySeconds = spec.arm.expireTokensEarlySeconds
  }

  /** The forced status for this request, if any (counts down). */
  take(): number | undefined {
    return this.queue.shift()
  }

  snapshot(): ArmFaults {
    return {
      queue: [...this.queue],
      retryAfterSeconds: this.retryAfterSeconds,
      latencyMs: this.latencyMs,
      ...(this.expireTokensEarlySeconds ? {expireTokensEarlySeconds: this.expireTokensEarlySeconds} : {}),
    }
  }
}

/**
 * Faults at the relay's front door, before the broker sees an upgrade: refused listener
 * upgrades (the first N listen attempts answer 5xx), and control channels dropped on a timer.
 */
export class RelayDoorFaults {
  private failListen = 0
  private failStatus = 503
  private timer?: NodeJS.Timeout
  private until = 0
  /** How many listen upgrades were refused, and drops made, so far (tests print them). */
  readonly counters = {refusedListens: 0, drops: 0}

  constructor(private readonly drop: () => number) {}

  apply(spec: FaultSpec): void {
    if (spec.reset) {
      this.failListen = 0
      this.failStatus = 503
      this.stopRepeating()
    }
    if (spec.failListen) {
      this.failListen = spec.failListen.count
      if (spec.failListen.status) this.failStatus = spec.failListen.status
    }
    const r = spec.dropListenersRepeat
    if (r) {
      this.stopRepeating()
      if (r.everyMs) {
        this.until = Date.now() + (r.forMs ?? 20_000)
        this.timer = setInterval(() => {
          if (Date.now() > this.until) return this.stopRepeating()
          this.drop()
          this.counters.drops++
        }, r.everyMs)
        this.timer.unref()
      }
    }
  }

  /** The status to refuse this upgrade with, if it is a listener's and one is due (counts down). */
  refuseUpgrade(url: string | undefined): number | undefined {
    if (this.failListen <= 0 || !/[?&]sb-hc-action=listen(&|$)/i.test(url ?? '')) return undefined
    this.failListen--
    this.counters.refusedListens++
    return this.failStatus
  }

  stopRepeating(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }
}
