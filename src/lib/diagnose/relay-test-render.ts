import type {Glyphs} from '../output/glyphs.js'
import {renderHistogram} from '../output/histogram.js'
import type {RelayTestEvent} from './relay-test.js'
import type {RelayTestRun} from './relay-test-setup.js'
import type {LatencyStats} from './stats.js'

function stats(s: LatencyStats | undefined, keys: Array<keyof LatencyStats>): string {
  if (!s) return 'n/a'
  const names: Record<keyof LatencyStats, string> = {minMs: 'min', avgMs: 'avg', p50Ms: 'p50', p95Ms: 'p95', p99Ms: 'p99', maxMs: 'max'}
  return keys.filter((k) => s[k] !== undefined).map((k) => `${names[k]} ${s[k]} ms`).join(', ')
}

/** One measurement as it happens (a connect), for people watching on a terminal. */
export function formatRelayTestEvent(e: RelayTestEvent): string | undefined {
  if (e.kind !== 'connect') return undefined
  if (e.outcome === 'own') return `  connect ${e.attempt}: ${e.ms} ms`
  if (e.outcome === 'foreign') return `  connect ${e.attempt}: reached another listener (not counted)`
  return `  connect ${e.attempt}: failed: ${e.error ?? 'error'}`
}

/**
 * The summary for people (the command prints it); with the round-trip samples, their latency
 * histogram under it.
 */
export function renderRelayTest(r: RelayTestRun, picture?: {rttSamplesMs: number[]; glyphs: Glyphs}): string {
  const c = r.connections
  const lines = [
    `Relay test on ${r.hybridConnection}${r.scratch ? ` (temporary hybrid connection ${r.scratch.name}${r.scratch.deleted ? ', deleted' : ', NOT deleted'})` : ''}`,
    `  listener ready     ${r.listener.readyMs} ms`,
    `  connections        ${c.own} of ${c.attempted} reached this test's listener${c.foreign ? `, ${c.foreign} another listener (not counted)` : ''}${c.failed ? `, ${c.failed} failed` : ''}`,
    `  connect time       ${stats(c.connectMs, ['minMs', 'avgMs', 'p50Ms', 'maxMs'])}`,
    `  echo               ${r.echo.received}/${r.echo.count} × ${r.echo.size} bytes, ${r.echo.lost} lost (${r.echo.lossPercent}%)`,
    `  round trip         ${stats(r.echo.rttMs, ['minMs', 'avgMs', 'p50Ms', 'p99Ms', 'maxMs'])}`,
  ]
  if (r.bulk) lines.push(`  bulk (echoed)      ${(r.bulk.bytes / 1_048_576).toFixed(2)} MiB in ${r.bulk.ms} ms: ${r.bulk.megabytesPerSecond} MiB/s${r.bulk.intact ? ', intact (SHA-256)' : ', INCOMPLETE OR CORRUPTED'}`)
  for (const e of c.errors) lines.push(`  error              ${e}`)
  lines.push(r.ok ? 'OK' : 'FAILED')
  if (picture && picture.rttSamplesMs.length > 1) lines.push('', renderHistogram(picture.rttSamplesMs, {glyphs: picture.glyphs, title: `Round-trip histogram (ms, ${picture.rttSamplesMs.length} echoes)`}))
  return lines.join('\n')
}
