import {performance} from 'node:perf_hooks'

import {isHcctlError} from '../../errors.js'
import {redactText} from '../../output/redact.js'
import {round2} from '../stats.js'
import type {CheckCounts, CheckDefinition, CheckReport, CheckResult} from './types.js'

export interface RunChecksOptions {
  /** Labels every result (`namespace/name`). */
  target?: string
  signal?: AbortSignal
  /** Called as each result is known (progress for people). */
  onResult?: (result: CheckResult) => void
}

/**
 * Runs checks in order. A check whose dependency failed or was skipped is skipped, naming the
 * dependency and its status, so the first broken layer is the one reported. A check that throws
 * fails with the error's message (an unexpected error in one check never hides the others).
 */
export async function runChecks<C>(definitions: Array<CheckDefinition<C>>, ctx: C, options: RunChecksOptions = {}): Promise<CheckResult[]> {
  const byId = new Map<string, CheckResult>()
  const results: CheckResult[] = []
  const ids = new Set(definitions.map((d) => d.id))
  for (const def of definitions) {
    for (const dep of def.dependsOn ?? []) {
      if (!ids.has(dep)) throw new Error(`check ${def.id} depends on unknown check ${dep}`)
      if (!byId.has(dep)) throw new Error(`check ${def.id} depends on ${dep}, which runs after it`)
    }
    const base = {id: def.id, title: def.title, ...(options.target ? {target: options.target} : {})}
    let result: CheckResult
    const blocker = (def.dependsOn ?? []).map((d) => byId.get(d)!).find((r) => r.status === 'fail' || r.status === 'skip')
    if (options.signal?.aborted) {
      result = {...base, status: 'skip', evidence: ['interrupted before this check ran']}
    } else if (blocker) {
      result = {...base, status: 'skip', evidence: [`skipped: ${blocker.id} ${blocker.status === 'fail' ? 'failed' : 'was skipped'}`]}
    } else {
      const started = performance.now()
      try {
        const outcome = await def.run(ctx)
        result = {...base, ...outcome}
      } catch (error) {
        const message = redactText((error as Error)?.message ?? String(error))
        const suggestions = isHcctlError(error) ? error.suggestions : []
        result = {
          ...base,
          status: 'fail',
          evidence: [message],
          remedy: suggestions.length > 0 ? suggestions.join(' ') : 'Re-run with --debug; if this looks like a bug in hcctl, report it with the output.',
        }
      }
      result.durationMs = round2(performance.now() - started)
    }
    byId.set(def.id, result)
    results.push(result)
    options.onResult?.(result)
  }
  return results
}

export function countStatuses(results: CheckResult[]): CheckCounts {
  const counts: CheckCounts = {pass: 0, warn: 0, fail: 0, skip: 0}
  for (const r of results) counts[r.status]++
  return counts
}

/** The report: ok when nothing failed (and nothing warned under `strict`). */
export function buildReport(results: CheckResult[], strict = false): CheckReport {
  const counts = countStatuses(results)
  return {ok: counts.fail === 0 && (!strict || counts.warn === 0), strict, counts, checks: results}
}
