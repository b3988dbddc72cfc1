/** Prometheus text exposition (version 0.0.4), just enough for counters and gauges. */
export interface MetricFamily {
  name: string
  help: string
  type: 'counter' | 'gauge'
  samples: Array<{labels?: Record<string, string>; value: number}>
}

export function renderMetrics(families: MetricFamily[]): string {
  const lines: string[] = []
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`)
    for (const s of f.samples) {
      const labels = Object.entries(s.labels ?? {})
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
        .join(',')
      lines.push(`${f.name}${labels ? `{${labels}}` : ''} ${Number.isFinite(s.value) ? s.value : 0}`)
    }
  }
  return lines.join('\n') + '\n'
}
