import {type Glyphs, UNICODE_GLYPHS} from './glyphs.js'

export interface HistogramOptions {
  /** Number of buckets (PsPing's `-h` uses 20); default: √n, between 1 and 20. */
  buckets?: number
  /** Width of the longest bar, in cells. */
  width?: number
  glyphs?: Glyphs
  title?: string
}

/**
 * A latency histogram in text, PsPing `-h` style: equal-width buckets from the minimum to the
 * maximum sample, each with its range, a bar scaled to the fullest bucket and its count. Pure:
 * the same samples always give the same lines (golden-file tested).
 */
export function renderHistogram(samplesMs: readonly number[], options: HistogramOptions = {}): string {
  const samples = samplesMs.filter((n) => Number.isFinite(n))
  if (samples.length === 0) return ''
  const g = options.glyphs ?? UNICODE_GLYPHS
  const width = options.width ?? 30
  const min = Math.min(...samples)
  const max = Math.max(...samples)
  const wanted = options.buckets ?? Math.min(20, Math.max(1, Math.ceil(Math.sqrt(samples.length))))
  const n = max === min ? 1 : Math.max(1, Math.min(20, Math.floor(wanted)))
  const step = max === min ? 0 : (max - min) / n
  const counts = Array.from({length: n}, () => 0)
  for (const s of samples) counts[step === 0 ? 0 : Math.min(n - 1, Math.floor((s - min) / step))]!++
  const decimals = step >= 10 || (step === 0 && min >= 100) ? 0 : step >= 1 || (step === 0 && min >= 10) ? 1 : 2
  const edge = (i: number) => (min + step * i).toFixed(decimals)
  const labels = counts.map((_, i) => (step === 0 ? edge(0) : `${edge(i)} - ${edge(i + 1)}`))
  const labelWidth = Math.max(...labels.map((l) => l.length))
  const top = Math.max(...counts)
  const countWidth = String(top).length
  const lines = [options.title ?? `Latency histogram (ms, ${samples.length} sample${samples.length === 1 ? '' : 's'})`]
  counts.forEach((count, i) => {
    lines.push(`  ${labels[i]!.padStart(labelWidth)}  ${bar(count, top, width, g).padEnd(width)}  ${String(count).padStart(countWidth)}`.trimEnd())
  })
  return lines.join('\n')
}

function bar(count: number, top: number, width: number, g: Glyphs): string {
  if (count === 0 || top === 0) return ''
  const cells = (count / top) * width
  const whole = Math.floor(cells)
  const eighths = Math.round((cells - whole) * 8)
  let s = g.bar.repeat(whole)
  if (eighths > 0 && eighths < 8 && g.partial.length === 7) s += g.partial[eighths - 1]
  else if (eighths === 8) s += g.bar
  // A bucket with samples always shows at least one cell.
  return s || (g.partial[0] ?? g.bar)
}
