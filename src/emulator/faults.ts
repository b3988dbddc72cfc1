import type {RelayFaults} from './contracts.js'

/**
 * Fault injection. A spec is a comma-separated list of `key=value` items:
 *
 *   arm.429=N               the next N ARM requests answer 429 SubscriptionRequestsThrottled
 *   arm.retryAfter=S        Retry-After seconds on those 429s (default 1)
 *   arm.5xx=N               the next N ARM requests answer 503 (arm.500=N, arm.502=N ... pick the status)
 *   arm.409=N, arm.412=N    the next N ARM requests answer 409 Conflict / 412 PreconditionFailed
 *   arm.latency=D           every ARM request waits D first (200ms, 1.5s, or plain milliseconds)
 *   arm.rate429=P           each ARM request answers 429 with probability P (0..1), Retry-After as above
 *   arm.rate503=P           each ARM request answers 503 with probability P (arm.rate500=P ... any 5xx)
 *   arm.seed=N              seed of those draws (default 1): the same seed and the same requests give
 *                           the same answers (a draw depends on the seed, the method, the path and how
 *                           many times that method + path was asked before, not on arrival order)
 *   arm.on=M                the forced answers above only hit requests whose method is M
 *                           (GET, PUT, PATCH, POST, DELETE, `write` = all but GET, `all`; several: PUT|POST)
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
  /** Probabilistic answers: status → probability (0..1). */
  rates: Record<string, number>
  seed: number
  /** Methods the forced answers apply to (undefined = every method). */
  on?: string[]
  /** Bearer tokens count as expired this many seconds before their `exp` (0: at `exp`). */
  expireTokensEarlySeconds?: number
}

export interface FaultSpec {
  arm: Partial<Omit<ArmFaults, 'on'>> & {statuses?: Array<{status: number; count: number}>; on?: string[] | null}
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
    const rateKey = /^arm\.rate(429|5\d\d|5xx)$/.exec(key)
    if (rateKey) {
      const status = rateKey[1] === '5xx' ? 503 : Number(rateKey[1])
      out.arm.rates = {...out.arm.rates, [status]: probability(value, key)}
      continue
    }
    const statusKey = /^arm\.(429|409|412|5\d\d|5xx)$/.exec(key)
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
      case 'arm.seed':
        out.arm.seed = count(value, key)
        break
      case 'arm.on': {
        const list = value.toUpperCase().split('|').map((m) => m.trim()).filter(Boolean)
        if (list.length === 0 || list.some((m) => !['GET', 'PUT', 'PATCH', 'POST', 'DELETE', 'HEAD', 'WRITE', 'ALL'].includes(m))) {
          throw new FaultSpecError(`${key}=${value}: expected GET, PUT, PATCH, POST, DELETE, write or all (several joined with |)`)
        }
        out.arm.on = list.includes('ALL') ? null : [...new Set(list.flatMap((m) => (m === 'WRITE' ? ['PUT', 'PATCH', 'POST', 'DELETE'] : [m])))]
        break
      }
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
          `unknown fault "${key}"; known: arm.429, arm.409, arm.412, arm.5xx, arm.5NN, arm.retryAfter, arm.latency, arm.expireTokensEarly, arm.rate429, arm.rate503 (arm.rate5NN), arm.seed, arm.on, relay.dropListeners, relay.refuseRendezvous, relay.stallRendezvous, relay.expireTokensEarly, relay.failListen, relay.failListenStatus, relay.dropListenersEvery, relay.dropListenersFor, reset`,
        )
    }
  }
  return out
}

function probability(text: string, key: string): number {
  const n = Number(text.trim())
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new FaultSpecError(`${key}=${text}: expected a probability from 0 to 1 (e.g. 0.3)`)
  return n
}

/** FNV-1a over the text, then mulberry32's mix: a uniform number in [0, 1) for (seed, text). */
export function seededDraw(seed: number, text: string): number {
  let h = (2166136261 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0
  let t = (h + 0x6d2b79f5) >>> 0
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Live fault state of the ARM front door. */
export class ArmFaultState implements ArmFaults {
  queue: number[] = []
  retryAfterSeconds = 1
  latencyMs = 0
  rates: Record<string, number> = {}
  seed = 1
  on?: string[]
  /** How many times each method + path was drawn for (keeps draws independent of arrival order). */
  private drawn = new Map<string, number>()
  expireTokensEarlySeconds = 0

  apply(spec: FaultSpec): void {
    if (spec.reset) {
      this.queue = []
      this.retryAfterSeconds = 1
      this.latencyMs = 0
      this.rates = {}
      this.seed = 1
      this.on = undefined
      this.drawn.clear()
      this.expireTokensEarlySeconds = 0
    }
    for (const {status, count} of spec.arm.statuses ?? []) for (let i = 0; i < count; i++) this.queue.push(status)
    if (spec.arm.retryAfterSeconds !== undefined) this.retryAfterSeconds = spec.arm.retryAfterSeconds
    if (spec.arm.latencyMs !== undefined) this.latencyMs = spec.arm.latencyMs
    if (spec.arm.rates) this.rates = Object.fromEntries(Object.entries({...this.rates, ...spec.arm.rates}).filter(([, p]) => p > 0))
    if (spec.arm.seed !== undefined) {
      this.seed = spec.arm.seed
      this.drawn.clear()
    }
    if (spec.arm.on !== undefined) this.on = spec.arm.on ?? undefined
    if (spec.arm.expireTokensEarlySeconds !== undefined) this.expireTokensEarlySeconds = spec.arm.expireTokensEarlySeconds
  }

  /** The forced status for this request, if any: a queued one (counts down), else a seeded draw. */
  take(method = 'GET', path = ''): number | undefined {
    if (this.on && !this.on.includes(method.toUpperCase())) return undefined
    const queued = this.queue.shift()
    if (queued !== undefined) return queued
    const rates = Object.entries(this.rates)
    if (rates.length === 0) return undefined
    // The subscription id differs per emulator state: leave it out so a seed replays anywhere.
    const key = `${method.toUpperCase()} ${path.toLowerCase().replace(/^\/subscriptions\/[^/]+/, '/subscriptions/-')}`
    const n = this.drawn.get(key) ?? 0
    this.drawn.set(key, n + 1)
    let x = seededDraw(this.seed, `${key}#${n}`)
    for (const [status, p] of rates) {
      if (x < p) return Number(status)
      x -= p
    }
    return undefined
  }

  snapshot(): ArmFaults {
    return {
      queue: [...this.queue],
      retryAfterSeconds: this.retryAfterSeconds,
      latencyMs: this.latencyMs,
      ...(this.expireTokensEarlySeconds ? {expireTokensEarlySeconds: this.expireTokensEarlySeconds} : {}),
      rates: {...this.rates},
      seed: this.seed,
      ...(this.on ? {on: [...this.on]} : {}),
    }
  }
}

/** One ARM request as the emulator saw it (the admin endpoint's `requests` log). */
export interface ArmRequestRecord {
  /** When it arrived and when it was answered (ms since the epoch). */
  arrivedAt: number
  answeredAt: number
  method: string
  path: string
  status: number
  /** The Retry-After it was given, in seconds (429s and injected faults). */
  retryAfter?: number
  /** The caller's x-ms-client-request-id (the same on every retry of one hcctl request). */
  clientRequestId?: string
  requestId: string
  /** Set when the answer was an injected fault. */
  injected?: boolean
}

/** The last `max` ARM requests, oldest first. */
export class ArmRequestLog {
  private list: ArmRequestRecord[] = []
  constructor(private readonly max = 10_000) {}

  add(record: ArmRequestRecord): void {
    this.list.push(record)
    if (this.list.length > this.max) this.list.splice(0, this.list.length - this.max)
  }

  all(): ArmRequestRecord[] {
    return [...this.list]
  }

  clear(): void {
    this.list = []
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
