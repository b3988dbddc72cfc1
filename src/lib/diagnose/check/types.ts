/**
 * The `hcctl check` vocabulary. A check is a small async function of a context; it yields a
 * status, the evidence it saw, and, when something is wrong, the remedy. Check ids are a stable
 * interface (CI gates select on them); the README lists every id with a troubleshooting note.
 */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

export interface CheckResult {
  /** Stable id, e.g. `listener.connected`. */
  id: string
  title: string
  status: CheckStatus
  /** What the check saw, one fact per entry (no secrets). */
  evidence: string[]
  /** What to do about a `fail` or `warn` (absent on pass/skip unless useful). */
  remedy?: string
  /** Which hybrid connection this result is about (`namespace/name`); absent for app-level checks. */
  target?: string
  /** Machine-readable facts for `--json` (numbers, names; never secrets). */
  data?: Record<string, unknown>
  durationMs?: number
}

/** What a check function returns; the pipeline adds id, title, target and timing. */
export type CheckOutcome = Pick<CheckResult, 'status' | 'evidence' | 'remedy' | 'data'>

export interface CheckDefinition<C> {
  id: string
  title: string
  /** Ids of checks that must not have failed (or been skipped) for this one to run. */
  dependsOn?: string[]
  run(ctx: C): Promise<CheckOutcome>
}

export interface CheckCounts {
  pass: number
  warn: number
  fail: number
  skip: number
}

export interface CheckReport {
  /** True when nothing failed (and, with `strict`, nothing warned). */
  ok: boolean
  strict: boolean
  counts: CheckCounts
  checks: CheckResult[]
}

export const pass = (evidence: string[] | string, data?: Record<string, unknown>): CheckOutcome => ({
  status: 'pass',
  evidence: ([] as string[]).concat(evidence),
  ...(data ? {data} : {}),
})
export const warn = (evidence: string[] | string, remedy: string, data?: Record<string, unknown>): CheckOutcome => ({
  status: 'warn',
  evidence: ([] as string[]).concat(evidence),
  remedy,
  ...(data ? {data} : {}),
})
export const fail = (evidence: string[] | string, remedy: string, data?: Record<string, unknown>): CheckOutcome => ({
  status: 'fail',
  evidence: ([] as string[]).concat(evidence),
  remedy,
  ...(data ? {data} : {}),
})
export const skip = (evidence: string[] | string, data?: Record<string, unknown>): CheckOutcome => ({
  status: 'skip',
  evidence: ([] as string[]).concat(evidence),
  ...(data ? {data} : {}),
})
