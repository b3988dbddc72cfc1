import type {RelayLogRecord} from '../lib/relay/log.js'

/**
 * The agent's one-line live status on a terminal, built from its log records: how many hybrid
 * connections are listening, and the connections served so far (and how many failed).
 */
export class AgentStatus {
  private readonly listening = new Set<string>()
  private readonly known = new Set<string>()
  private served = 0
  private failed = 0
  private state: 'starting' | 'running' | 'draining' | 'stopped' = 'starting'

  constructor(private readonly expected?: number) {}

  /** Takes one record; returns the new status line. */
  add(r: RelayLogRecord): string {
    const hc = typeof r.hc === 'string' ? r.hc : undefined
    if (hc) this.known.add(hc)
    if (r.event === 'listening' && hc) {
      this.listening.add(hc)
      if (this.state === 'starting') this.state = 'running'
    }
    if ((r.event === 'disconnected' || r.event === 'fatal') && hc) this.listening.delete(hc)
    if (r.event === 'connection') {
      this.served++
      if (r.level !== 'info') this.failed++
    }
    if (r.event === 'draining') this.state = 'draining'
    if (r.event === 'stopped') this.state = 'stopped'
    return this.line()
  }

  line(): string {
    const total = Math.max(this.expected ?? 0, this.known.size)
    const what = this.state === 'draining' ? 'draining' : this.state === 'stopped' ? 'stopped' : `listening on ${this.listening.size}/${total || '?'} hybrid connection${total === 1 ? '' : 's'}`
    return `agent: ${what} · ${this.served} connection${this.served === 1 ? '' : 's'} served${this.failed ? `, ${this.failed} failed` : ''} · Ctrl+C to stop`
  }
}
