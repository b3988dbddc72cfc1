import type {CloudProfile} from '../../azure/clouds.js'
import {type RoundTripOptions, type RoundTripResult, roundTrip} from '../roundtrip.js'
import {type CheckDefinition, fail, pass, skip, warn} from './types.js'

/** What the round-trip checks need (filled by the checks before them). */
export interface RoundTripContext {
  cloud: CloudProfile
  namespace: string
  hybridConnection: string
  now: () => number
  timeoutMs: number
  signal?: AbortSignal
  /** The key the app (or, without --app, a Send rule) uses; set by keys.match. */
  sendKey?: {name: string; value: string; source: string}
  /** Set by listener.connected. */
  listenerCount?: number
  /** The endpoint from the metadata (for --probe http's Host header). */
  endpoint?: {host: string; port: number}
  /** What the user asked for. */
  roundTrip: {attempts?: number; send?: string; expect?: RegExp; probe?: 'http'; connect?: RoundTripOptions['connect']}
  /** Set by roundtrip.connect for roundtrip.probe. */
  roundTripResult?: RoundTripResult
  /** Commands in remedies. */
  names: {agent: string}
}

function rejectionLines(r: RoundTripResult): string[] {
  const byReason = new Map<string, number>()
  for (const a of r.attempts.filter((x) => !x.accepted)) {
    const text = a.status !== undefined ? `HTTP ${a.status}${a.reason ? ` ${a.reason}` : ''}` : (a.message ?? 'failed')
    byReason.set(text, (byReason.get(text) ?? 0) + 1)
  }
  return [...byReason].map(([text, n]) => `${n}× ${text}`)
}

export const roundTripConnect: CheckDefinition<RoundTripContext> = {
  id: 'roundtrip.connect',
  title: 'Round trip as the app (sender)',
  dependsOn: ['keys.match', 'listener.connected', 'net.websocket', 'net.clock'],
  async run(c) {
    const attempts = c.roundTrip.attempts ?? Math.max(1, 2 * (c.listenerCount ?? 1))
    const key = c.sendKey!
    const r = await roundTrip({
      cloud: c.cloud,
      namespace: c.namespace,
      hybridConnection: c.hybridConnection,
      keyName: key.name,
      key: key.value,
      attempts,
      timeoutMs: c.timeoutMs,
      send: c.roundTrip.send,
      expect: c.roundTrip.expect,
      probe: c.roundTrip.probe,
      httpHost: c.endpoint ? `${c.endpoint.host}:${c.endpoint.port}` : undefined,
      now: c.now,
      signal: c.signal,
      connect: c.roundTrip.connect,
    })
    c.roundTripResult = r
    const n = r.attempts.length
    const ratio = `${r.accepted}/${n} accepted (${Math.round((r.accepted / Math.max(n, 1)) * 100)}%)`
    const times = r.attempts.filter((a) => a.accepted).map((a) => a.connectMs!)
    const evidence = [`${ratio} with ${key.source}`, ...(times.length ? [`connect ${Math.min(...times)}-${Math.max(...times)} ms`] : []), ...rejectionLines(r)]
    const data = {attempts: n, accepted: r.accepted, successRatio: n ? r.accepted / n : 0, results: r.attempts.map(({probe: _p, ...a}) => a)}
    if (r.accepted === n) return pass(evidence, data)
    const rejected = r.attempts.find((a) => a.code === 'RejectedByListener')
    const noListener = r.attempts.find((a) => a.code === 'NoListener')
    const unauthorized = r.attempts.find((a) => a.code === 'RelayUnauthorized')
    let remedy: string
    if (rejected) {
      remedy = `An agent rejected the connection (${rejected.status}${rejected.reason ? `: ${rejected.reason}` : ''}). The agent cannot reach the endpoint${c.endpoint ? ` ${c.endpoint.host}:${c.endpoint.port}` : ''} from its machine: check that the service is up, that the agent host resolves the name and that no firewall blocks it (\`hcctl tcpping HOST:PORT\` on the agent host).${r.accepted > 0 ? ' Some attempts succeeded: with several agents, one of them cannot reach the endpoint.' : ''}`
    } else if (noListener) {
      remedy = `No agent was listening when the app connected. Start one with \`${c.names.agent}\` and keep it running.`
    } else if (unauthorized) {
      remedy = 'The relay refused the app\'s key: rotate keys with `hcctl keys rotate` (it updates every app) or re-run `hcctl attach`.'
    } else {
      remedy = 'The relay did not complete the connection; re-run with --verbose and check the network checks above.'
    }
    return fail(evidence, remedy, data)
  },
}

export const roundTripProbe: CheckDefinition<RoundTripContext> = {
  id: 'roundtrip.probe',
  title: 'The endpoint answers through the tunnel',
  dependsOn: ['roundtrip.connect'],
  async run(c) {
    const r = c.roundTripResult!
    if (!c.roundTrip.send && !c.roundTrip.probe) return skip('not asked: add --send TEXT --expect REGEX or --probe http to check that the endpoint itself answers')
    const probes = r.attempts.filter((a) => a.probe)
    const ok = probes.filter((a) => a.probe!.ok)
    const what = c.roundTrip.probe === 'http' ? 'HEAD / answered with an HTTP status line' : `the answer matched ${c.roundTrip.expect ?? '(anything)'}`
    const first = ok[0]?.probe?.answer ?? probes.find((a) => a.probe?.answer)?.probe?.answer
    const evidence = [`${ok.length}/${probes.length}: ${what}`, ...(first ? [`answer: ${first.split(/\r?\n/)[0]}`] : [])]
    const data = {probes: probes.length, ok: ok.length}
    if (ok.length === probes.length) return pass(evidence, data)
    const errors = [...new Set(probes.filter((a) => !a.probe!.ok).map((a) => a.probe!.error ?? 'failed'))]
    const remedy = 'The tunnel works but the endpoint did not answer as expected: check the service on the endpoint (is it the right port and protocol?)'
    if (ok.length > 0) return warn([...evidence, ...errors], remedy + ' Some attempts got the right answer: with several agents, one may reach a different server.', data)
    return fail([...evidence, ...errors], remedy, data)
  },
}
