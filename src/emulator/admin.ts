import type {IncomingMessage, ServerResponse} from 'node:http'

import type {ArmRouter} from './arm/router.js'
import type {RelayBroker, RelayFaults} from './contracts.js'
import {ArmFaultState, ArmRequestLog, type FaultSpec, parseFaultSpec, RelayDoorFaults} from './faults.js'
import {HttpError, readBody, sendJson} from './http.js'
import type {StateStore} from './state.js'

/**
 * The emulator's fault injection in one place: ARM faults (answered by the router), relay faults
 * (the broker's), and the front-door faults applied before an upgrade reaches the broker.
 */
export class FaultControl {
  readonly arm = new ArmFaultState()
  /** Every ARM request with its arrival, answer, status and Retry-After (tests check the gaps). */
  readonly requests = new ArmRequestLog()
  readonly door: RelayDoorFaults
  private relayFaults: RelayFaults = {}

  constructor(
    private readonly broker: RelayBroker,
    private readonly log: (line: string) => void,
  ) {
    this.door = new RelayDoorFaults(() => broker.dropListeners())
  }

  get relay(): RelayFaults {
    return this.relayFaults
  }

  /** Applies a fault spec (`arm.429=2,relay.failListen=3`, or `reset`) on top of the current faults. */
  set(input: string | FaultSpec): void {
    const spec = typeof input === 'string' ? parseFaultSpec(input) : input
    this.arm.apply(spec)
    this.door.apply(spec)
    const next: RelayFaults = spec.reset ? {} : {...this.relayFaults}
    for (const [k, v] of Object.entries(spec.relay)) {
      if (v === undefined) delete (next as Record<string, unknown>)[k]
      else (next as Record<string, unknown>)[k] = v
    }
    this.relayFaults = next
    this.broker.setFaults({...this.relayFaults})
    if (spec.dropListeners) {
      const n = this.broker.dropListeners(spec.dropListeners.namespace, spec.dropListeners.name)
      this.log(`faults: dropped ${n} listener control channel(s)`)
    }
  }
}

export interface AdminContext {
  armUrl: () => string
  relaySuffix: string
  state: StateStore
  inMemory: boolean
  stateDir: string
  router: ArmRouter
  faults: FaultControl
  broker: RelayBroker
}

/**
 * `/emulator/info` (anonymous) and `/emulator/admin/...` (the Contributor principal only):
 * read, set and reset faults, read (GET) or clear (DELETE) the ARM request log, and drop
 * listener control channels on demand.
 */
export function adminHandler(c: AdminContext): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const faultsBody = () => ({arm: c.faults.arm.snapshot(), relay: c.faults.relay})
  return async (req, res, url) => {
    const path = url.pathname.toLowerCase().replace(/\/+$/, '')
    if (path === '/emulator/info' && req.method === 'GET') {
      return sendJson(res, 200, {name: 'hcctl-emulator', armUrl: c.armUrl(), relaySuffix: c.relaySuffix, tenantId: c.state.data.tenantId, inMemory: c.inMemory, stateDir: c.stateDir, pid: process.pid})
    }
    try {
      const auth = c.router.authenticate(req)
      if (auth.principal.role !== 'Contributor') {
        throw new HttpError(403, {error: {code: 'AuthorizationFailed', message: 'Only the emulator\'s default (Contributor) principal may use the admin endpoint.'}})
      }
      if (path === '/emulator/admin/faults') {
        if (req.method === 'GET') return sendJson(res, 200, faultsBody())
        if (req.method === 'DELETE') {
          c.faults.set('reset')
          return sendJson(res, 200, faultsBody())
        }
        if (req.method === 'POST' || req.method === 'PUT') {
          c.faults.set(await readFaultSpec(req))
          return sendJson(res, 200, faultsBody())
        }
      }
      if (path === '/emulator/admin/requests') {
        if (req.method === 'GET') return sendJson(res, 200, {value: c.faults.requests.all()})
        if (req.method === 'DELETE') {
          c.faults.requests.clear()
          return sendJson(res, 200, {value: []})
        }
      }
      if (path === '/emulator/admin/relay/drop-listeners' && req.method === 'POST') {
        const raw = (await readBody(req, 64 * 1024)).toString('utf8').trim()
        const body = raw ? (JSON.parse(raw) as {namespace?: string; name?: string}) : {}
        return sendJson(res, 200, {dropped: c.broker.dropListeners(body.namespace, body.name)})
      }
      throw new HttpError(404, {error: {code: 'NotFound', message: `No admin endpoint ${req.method} ${url.pathname}.`}})
    } catch (error) {
      if (error instanceof HttpError) return sendJson(res, error.status, error.body, error.headers)
      throw error
    }
  }
}

/** The spec as text, or `{"spec": "..."}`; a spec that does not parse is a 400. */
async function readFaultSpec(req: IncomingMessage): Promise<FaultSpec> {
  const raw = (await readBody(req, 64 * 1024)).toString('utf8').trim()
  let spec = raw
  if (raw.startsWith('{')) {
    try {
      spec = String((JSON.parse(raw) as {spec?: unknown}).spec ?? '')
    } catch {
      throw new HttpError(400, {error: {code: 'InvalidRequestContent', message: 'Send {"spec": "arm.429=2,..."} or the spec as text.'}})
    }
  }
  try {
    return parseFaultSpec(spec)
  } catch (error) {
    throw new HttpError(400, {error: {code: 'InvalidFaultSpec', message: (error as Error).message}})
  }
}
