import type {HcRuntime} from './agent.js'
import {renderMetrics, type MetricFamily} from './metrics.js'

/** The agent's Prometheus metrics, per hybrid connection, from its runtime counters. */
export function renderAgentMetrics(hcs: HcRuntime[]): string {
  const per = (f: (h: HcRuntime) => number) => hcs.map((h) => ({labels: {hc: h.label}, value: f(h)}))
  const families: MetricFamily[] = [
    {name: 'hcctl_agent_listening', help: 'Whether the control channel of the hybrid connection is open (1) or not (0).', type: 'gauge', samples: per((h) => (h.listener.state().listening ? 1 : 0))},
    {name: 'hcctl_agent_tunnels_active', help: 'Tunnels open now (including ones connecting to the endpoint).', type: 'gauge', samples: per((h) => h.active.size + h.pending)},
    {name: 'hcctl_agent_accepts_total', help: 'Senders accepted (endpoint reachable, rendezvous completed).', type: 'counter', samples: per((h) => h.accepts)},
    {name: 'hcctl_agent_rejects_total', help: 'Senders rejected (endpoint unreachable, or draining).', type: 'counter', samples: per((h) => h.rejects)},
    {
      name: 'hcctl_agent_tunnels_closed_total',
      help: 'Tunnels that ended, by result.',
      type: 'counter',
      samples: hcs.flatMap((h) => [
        {labels: {hc: h.label, result: 'ok'}, value: h.tunnelsOk},
        {labels: {hc: h.label, result: 'error'}, value: h.tunnelsFailed},
      ]),
    },
    {
      name: 'hcctl_agent_bytes_total',
      help: 'Bytes relayed, by direction, in tunnels that ended plus open ones.',
      type: 'counter',
      samples: hcs.flatMap((h) => {
        let to = h.bytesToEndpoint
        let from = h.bytesFromEndpoint
        for (const t of h.active) {
          const s = t.stats()
          to += s.bytesFromRelay
          from += s.bytesToRelay
        }
        return [
          {labels: {hc: h.label, direction: 'to_endpoint'}, value: to},
          {labels: {hc: h.label, direction: 'from_endpoint'}, value: from},
        ]
      }),
    },
    {name: 'hcctl_agent_reconnects_total', help: 'Control-channel reconnect attempts.', type: 'counter', samples: per((h) => h.listener.state().reconnects)},
  ]
  return renderMetrics(families)
}
