/** Latency statistics shared by tcpping, the check round trip and `relay test`. */
export interface LatencyStats {
  minMs: number
  avgMs: number
  maxMs: number
  p50Ms?: number
  p95Ms?: number
  p99Ms?: number
}

/** Nearest-rank percentile (p in 0..100) of an ascending-sorted, non-empty array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty sample')
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1]!
}

/** Rounds to 0.01 ms: enough for people, stable in JSON. */
export function round2(n: number): number {
  return Math.round(n * 100) / 100
}

/**
 * min/avg/max of the samples, plus the requested percentiles. Undefined for an empty sample.
 */
export function latencyStats(samples: number[], percentiles: Array<50 | 95 | 99> = []): LatencyStats | undefined {
  if (samples.length === 0) return undefined
  const sorted = [...samples].sort((a, b) => a - b)
  const stats: LatencyStats = {
    minMs: round2(sorted[0]!),
    avgMs: round2(sorted.reduce((s, x) => s + x, 0) / sorted.length),
    maxMs: round2(sorted[sorted.length - 1]!),
  }
  for (const p of percentiles) stats[`p${p}Ms`] = round2(percentile(sorted, p))
  return stats
}
