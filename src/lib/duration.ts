import {UsageError} from './errors.js'

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i

export interface DurationOptions {
  /** What the value is, in the user's words: `--timeout`, `HCCTL_RELAY_TOKEN_TTL`, `"drainTimeout" in agent.yaml`. */
  name?: string
  /** Smallest value allowed, in milliseconds (default 0). */
  minMs?: number
  /** Largest value allowed, in milliseconds (default 24 h). */
  maxMs?: number
}

/**
 * The one duration parser: `500ms`, `1s`, `1.5s`, `2m`, `1h`; a bare number is seconds (as in
 * `ping -i` and the agent's config file). Returns milliseconds. Callers differ only in their
 * bounds, given as options; outside them, or malformed, it throws a UsageError naming the value.
 */
export function parseDuration(text: string, options: DurationOptions = {}): number {
  const name = options.name ?? 'the duration'
  const ms = tryParseDuration(text)
  const shown = text.length > 30 ? `${text.slice(0, 30)}…` : text
  if (ms === undefined) {
    throw new UsageError(`${name} "${shown}" is not a duration.`, {
      code: 'InvalidDuration',
      suggestions: [`Write it as a number with a unit, e.g. 500ms, 2s or 1m (a bare number is seconds).`],
    })
  }
  const min = options.minMs ?? 0
  const max = options.maxMs ?? 24 * 3_600_000
  if (ms < min) {
    throw new UsageError(`${name} "${shown}" is too short: at least ${formatDuration(min)}.`, {code: 'InvalidDuration'})
  }
  if (ms > max) throw new UsageError(`${name} "${shown}" is too long: at most ${formatDuration(max)}.`, {code: 'InvalidDuration'})
  return ms
}

/** Milliseconds, or undefined when the text is not a duration (no bounds applied). */
export function tryParseDuration(text: string): number | undefined {
  const m = PATTERN.exec(text)
  if (!m) return undefined
  const ms = Number(m[1]) * UNITS[(m[2] ?? 's').toLowerCase()]!
  return Number.isFinite(ms) ? Math.round(ms) : undefined
}

/** 1500 → "1.5s", 120000 → "2m", 250 → "250ms": the shortest unit that reads whole. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  return `${ms / 1000}s`
}
