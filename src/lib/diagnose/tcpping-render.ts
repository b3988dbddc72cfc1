import type {Glyphs} from '../output/glyphs.js'
import {renderHistogram} from '../output/histogram.js'
import type {TcpPingAttempt, TcpPingResult} from './tcpping.js'

/** Lines for people, PsPing-like. Pure: the command writes them. */

export function formatDns(r: Pick<TcpPingResult, 'target' | 'dns' | 'from'>): string {
  const {host, port} = r.target
  const where = r.from.kind === 'app' ? ` from app ${r.from.app}${r.from.slot ? `/${r.from.slot}` : ''}` : ''
  const via = r.from.kind === 'app' && r.from.hybridConnection
    ? ` through hybrid connection ${r.from.hybridConnection.namespace}/${r.from.hybridConnection.name}`
    : ''
  if (r.dns.skipped === 'ip-literal') return `TCP connect to ${host}:${port}${where}${via}:`
  if (r.dns.skipped === 'remote') return `TCP connect to ${host}:${port}${where}${via} (name resolved inside the app):`
  if (r.dns.error) return `DNS ${host}: ${r.dns.error} (${r.dns.timeMs} ms)${r.dns.message ? ` - ${r.dns.message}` : ''}`
  const addrs = r.dns.addresses.map((a) => a.address).join(', ')
  return `DNS ${host} -> ${addrs} (${r.dns.timeMs} ms)\nTCP connect to ${r.dns.addresses[0]!.address}:${port}${where}${via}:`
}

export function formatAttempt(a: TcpPingAttempt): string {
  const to = a.address ? ` ${a.address}` : ''
  if (a.connected) return `  ${a.seq}:${to} connected in ${a.timeMs} ms`
  // "error" alone says nothing: the words of whoever failed (Kudu, the relay, the system) do.
  const why = a.error === 'error' && a.message ? ` (${a.message.replace(/\s+/g, ' ').trim()})` : ''
  return `  ${a.seq}:${to} ${a.error}${a.timeMs !== undefined && a.error === 'timed out' ? ` after ${a.timeMs} ms` : ''}${why}`
}

/** The summary; with glyphs, the connect-time histogram under it (from two connected attempts). */
export function formatSummary(r: TcpPingResult, glyphs?: Glyphs): string {
  const s = r.summary
  const lines = [
    '',
    `  Sent = ${s.sent}, Connected = ${s.connected}, Lost = ${s.lost} (${s.lossPercent}% loss)${r.interrupted ? ', interrupted' : ''}`,
  ]
  if (s.minMs !== undefined) {
    let times = `  Minimum = ${s.minMs} ms, Maximum = ${s.maxMs} ms, Average = ${s.avgMs} ms`
    if (s.p50Ms !== undefined) times += `, p50 = ${s.p50Ms} ms, p95 = ${s.p95Ms} ms`
    lines.push(times)
  }
  if (r.from.kind === 'app') {
    lines.push(
      r.from.hybridConnection
        ? `  Note: this went through the app's hybrid connection; it shows the app reaches ${r.target.host}:${r.target.port}, not which agent served it.`
        : '  Note: this ran inside the app (Kudu); no hybrid connection of the app matches this host:port.',
    )
  }
  const times = r.attempts.filter((a) => a.connected && a.timeMs !== undefined).map((a) => a.timeMs!)
  if (glyphs && times.length > 1) lines.push('', renderHistogram(times, {glyphs, title: `  Connect-time histogram (ms, ${times.length} connects)`}).replace(/\n/g, '\n  '))
  return lines.join('\n')
}
