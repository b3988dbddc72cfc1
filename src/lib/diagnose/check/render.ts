import type {CheckReport, CheckResult, CheckStatus} from './types.js'

export const STATUS_SYMBOL: Record<CheckStatus, string> = {pass: '✓', warn: '!', fail: '✗', skip: '-'}

export interface Painter {
  green(s: string): string
  yellow(s: string): string
  red(s: string): string
  dim(s: string): string
  bold(s: string): string
}

const plain: Painter = {green: (s) => s, yellow: (s) => s, red: (s) => s, dim: (s) => s, bold: (s) => s}

function paintStatus(status: CheckStatus, text: string, p: Painter): string {
  if (status === 'pass') return p.green(text)
  if (status === 'warn') return p.yellow(text)
  if (status === 'fail') return p.red(text)
  return p.dim(text)
}

/** One line for a result: `✓ net.dns  DNS of the namespace  contoso.servicebus.windows.net -> 1.2.3.4`. */
export function formatResultLine(r: CheckResult, width: {id: number; title: number}, p: Painter = plain): string {
  const symbol = paintStatus(r.status, STATUS_SYMBOL[r.status], p)
  const evidence = r.evidence[0] ?? ''
  return `${symbol} ${r.id.padEnd(width.id)}  ${r.title.padEnd(width.title)}  ${r.status === 'skip' ? p.dim(evidence) : evidence}`.trimEnd()
}

/**
 * The table for people: results grouped by target, ✓/!/✗ per line, further evidence indented,
 * and for each failure or warning its remedy. Pure; the command prints it.
 */
export function renderReport(report: CheckReport, p: Painter = plain): string {
  const width = {
    id: Math.max(...report.checks.map((r) => r.id.length), 2),
    title: Math.max(...report.checks.map((r) => r.title.length), 5),
  }
  const lines: string[] = []
  let target: string | undefined | null = null
  for (const r of report.checks) {
    if (r.target !== target) {
      if (lines.length > 0) lines.push('')
      lines.push(p.bold(r.target ? `Hybrid connection ${r.target}` : 'App and plan'))
      target = r.target
    }
    lines.push(formatResultLine(r, width, p))
    for (const more of r.evidence.slice(1)) lines.push(`  ${' '.repeat(width.id + width.title + 4)}${more}`)
  }
  const problems = report.checks.filter((r) => (r.status === 'fail' || r.status === 'warn') && r.remedy)
  if (problems.length > 0) {
    lines.push('', p.bold('What to do'))
    for (const r of problems) {
      lines.push(`${paintStatus(r.status, STATUS_SYMBOL[r.status], p)} ${r.id}${r.target ? ` (${r.target})` : ''}: ${r.remedy}`)
    }
  }
  const c = report.counts
  lines.push(
    '',
    `${c.pass} passed, ${c.warn} warning${c.warn === 1 ? '' : 's'}, ${c.fail} failed, ${c.skip} skipped` +
      (report.ok ? '' : report.counts.fail > 0 ? ' - FAILED' : ' - FAILED (warnings count as failures with --strict)'),
  )
  return lines.join('\n')
}
