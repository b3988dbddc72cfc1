import type {CheckReport, CheckResult, CheckStatus} from './types.js'
import type {Glyphs} from '../../output/glyphs.js'

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

export interface ReportWidth {
  id: number
  title: number
}

export function reportWidth(results: Array<Pick<CheckResult, 'id' | 'title'>>): ReportWidth {
  return {id: Math.max(...results.map((r) => r.id.length), 2), title: Math.max(...results.map((r) => r.title.length), 5)}
}

/**
 * The body of the report, one result at a time: a heading when the target changes, the result's
 * line, its further evidence indented. `check` prints these as the results arrive on a terminal,
 * and `renderReport` strings them together for the whole report.
 */
export function liveReport(width: ReportWidth, p: Painter = plain): (r: CheckResult) => string[] {
  let target: string | undefined | null = null
  let first = true
  return (r) => {
    const lines: string[] = []
    if (r.target !== target) {
      if (!first) lines.push('')
      lines.push(p.bold(r.target ? `Hybrid connection ${r.target}` : 'App and plan'))
      target = r.target
    }
    first = false
    lines.push(formatResultLine(r, width, p))
    for (const more of r.evidence.slice(1)) lines.push(`  ${' '.repeat(width.id + width.title + 4)}${more}`)
    return lines
  }
}

/**
 * What follows the results: for each failure or warning its remedy, the counts, and (with
 * glyphs) the hop chain.
 */
export function renderReportTail(report: CheckReport & {subject?: {app?: string}}, p: Painter = plain, glyphs?: Glyphs): string {
  const lines: string[] = []
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
  const chain = glyphs ? renderHopChain(report, glyphs, p) : ''
  if (chain) lines.push('', chain)
  return lines.join('\n')
}

/**
 * The table for people: results grouped by target, ✓/!/✗ per line, further evidence indented,
 * and for each failure or warning its remedy; with glyphs, the hop chain at the end. Pure; the
 * command prints it.
 */
export function renderReport(report: CheckReport & {subject?: {app?: string}}, p: Painter = plain, glyphs?: Glyphs): string {
  const body = liveReport(reportWidth(report.checks), p)
  const lines = report.checks.flatMap((r) => body(r))
  return [...lines, renderReportTail(report, p, glyphs)].join('\n')
}

export type Hop = 'app' | 'relay' | 'agent' | 'endpoint'

/**
 * Which hops of `app → relay → agent(s) → endpoint` a check speaks for. An accepted round trip
 * speaks for the agent and the endpoint too: the agent connects to the endpoint before it
 * accepts. A rejected one (the agent's 502) blames the endpoint, not the agent.
 */
export function hopsOf(r: CheckResult): Hop[] {
  if (r.id === 'roundtrip.connect') {
    const results = (r.data?.results ?? []) as Array<{code?: string}>
    if (results.some((a) => a.code === 'RejectedByListener')) return ['endpoint']
    return r.status === 'pass' ? ['agent', 'endpoint'] : r.status === 'skip' ? ['agent', 'endpoint'] : ['agent']
  }
  if (r.id.startsWith('app.') || r.id === 'config.web-resource' || r.id === 'keys.match') return ['app']
  if (r.id.startsWith('listener.')) return ['agent']
  if (r.id === 'config.endpoint-host' || r.id === 'roundtrip.probe') return ['endpoint']
  return ['relay']
}

/** A skip because something it depends on failed (or the run was interrupted): the hop is unknown. */
function blocked(r: CheckResult): boolean {
  return r.status === 'skip' && /^(skipped: |interrupted)/.test(r.evidence[0] ?? '')
}

function hopStatus(results: CheckResult[]): CheckStatus {
  if (results.some((r) => r.status === 'fail')) return 'fail'
  if (results.some((r) => r.status === 'warn')) return 'warn'
  if (results.some((r) => blocked(r))) return 'skip'
  if (results.some((r) => r.status === 'pass')) return 'pass'
  return 'skip'
}

/**
 * The hop chain of each hybrid connection, drawn in text:
 *
 *     ✓ app contoso-web → ✓ relay (contoso-relay) → ✗ agents (0) → ? endpoint db01:1433
 *                                                    listener.connected
 *
 * Each hop is marked with the worst status of its checks, `?` when a check of it could not run
 * because an earlier layer failed, and the ids of its failed and warning checks are listed
 * under it.
 */
export function renderHopChain(report: CheckReport & {subject?: {app?: string}}, glyphs: Glyphs, p: Painter = plain): string {
  const symbol: Record<CheckStatus, string> = {pass: glyphs.pass, warn: glyphs.warn, fail: glyphs.fail, skip: glyphs.skip}
  const appResults = report.checks.filter((r) => !r.target)
  const named = [...new Set(report.checks.filter((r) => r.target).map((r) => r.target!))]
  // An app whose checks stopped before any hybrid connection still gets its chain.
  const targets: Array<string | undefined> = named.length > 0 ? named : appResults.length > 0 ? [undefined] : []
  const blocks: string[] = []
  for (const target of targets) {
    const mine = target ? report.checks.filter((r) => r.target === target) : []
    const all = [...appResults, ...mine]
    const byHop = (hop: Hop) => all.filter((r) => hopsOf(r).includes(hop))
    const listeners = mine.find((r) => r.id === 'listener.connected')?.data?.listenerCount
    const endpoint = mine.find((r) => r.id === 'config.metadata')?.data?.endpoint
    const namespace = target?.split('/')[0]
    const hops: Array<{label: string; results: CheckResult[]}> = [
      {label: report.subject?.app ? `app ${report.subject.app}` : 'hcctl (as sender)', results: byHop('app')},
      {label: namespace ? `relay (${namespace})` : 'relay', results: byHop('relay')},
      {label: `agent${listeners === 1 ? '' : 's'}${typeof listeners === 'number' ? ` (${listeners})` : ''}`, results: byHop('agent')},
      {label: `endpoint${typeof endpoint === 'string' ? ` ${endpoint}` : ''}`, results: byHop('endpoint')},
    ]
    const sep = ` ${glyphs.arrow} `
    let line = ''
    let painted = ''
    const columns: number[] = []
    hops.forEach((h, i) => {
      const status = hopStatus(h.results)
      const text = `${symbol[status]} ${h.label}`
      if (i > 0) {
        line += sep
        painted += p.dim(sep)
      }
      columns.push(line.length)
      line += text
      painted += paintStatus(status, symbol[status], p) + ' ' + h.label
    })
    const under: string[] = []
    hops.forEach((h, i) => {
      const ids = h.results.filter((r) => r.status === 'fail' || r.status === 'warn').map((r) => r.id)
      let row = 0
      for (const id of new Set(ids)) {
        // The first row that is free at this hop's column (ids never run into each other).
        while ((under[row] ?? '').length > columns[i]! - (i === 0 ? 0 : 1)) row++
        const current = under[row] ?? ''
        under[row] = current + ' '.repeat(columns[i]! - current.length) + id
        row++
      }
    })
    const heading = targets.length > 1 && target ? [`  ${target}`] : []
    blocks.push([...heading, `  ${painted}`, ...under.map((u) => `  ${u}`)].join('\n'))
  }
  if (blocks.length === 0) return ''
  return [p.bold(targets.length === 1 ? 'Hops' : 'Hops, per hybrid connection'), ...blocks].join('\n')
}
