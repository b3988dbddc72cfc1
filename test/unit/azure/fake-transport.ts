import type {CloudProfile} from '../../../src/lib/azure/clouds.js'
import type {Transport, TransportRequest, TransportResponse} from '../../../src/lib/azure/transport.js'
import {TransportError} from '../../../src/lib/azure/transport.js'

export type Step = Partial<TransportResponse> | TransportError | ((req: TransportRequest) => Partial<TransportResponse> | TransportError)

/**
 * A scripted transport: answers each request with the next step (JSON bodies given as objects
 * are serialised), records requests with the fake clock's time. A virtual clock: `sleep`
 * advances it instantly, so retry spacing is asserted without real waiting.
 */
export function fakeTransport(steps: Step[]) {
  const clock = {t: 1_000_000}
  const requests: Array<TransportRequest & {at: number}> = []
  const sleeps: number[] = []
  const transport: Transport = async (req) => {
    requests.push({...req, at: clock.t})
    const step = steps.shift()
    if (step === undefined) throw new Error(`no scripted answer for ${req.method} ${req.url}`)
    const s = typeof step === 'function' ? step(req) : step
    if (s instanceof TransportError) throw s
    const body = s.body === undefined ? '' : typeof s.body === 'string' ? s.body : JSON.stringify(s.body)
    return {status: s.status ?? 200, headers: {'content-type': 'application/json', ...s.headers}, body}
  }
  return {
    transport,
    requests,
    sleeps,
    clock,
    now: () => clock.t,
    sleep: async (ms: number) => {
      sleeps.push(ms)
      clock.t += ms
    },
  }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Partial<TransportResponse> {
  return {status, headers, body: JSON.stringify(body)}
}

/** A cloud profile on names that never resolve (the fake transport answers instead). */
export const TEST_CLOUD: CloudProfile = {
  name: 'test',
  armEndpoint: 'https://arm.example.test',
  armAudience: 'https://arm.example.test',
  authorityHost: 'https://login.example.test',
  relaySuffix: '.relay.example.test',
  appServiceSuffix: '.apps.example.test',
}
