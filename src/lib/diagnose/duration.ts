import {UsageError} from '../errors.js'

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/**
 * Parses a duration flag such as `500ms`, `1s`, `1.5s`, `2m`. A bare number is seconds (as in
 * `ping -i`). Returns milliseconds; throws a UsageError naming the flag otherwise.
 */
export function parseDuration(text: string, flag = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text)
  if (!m) {
    throw new UsageError(`--${flag} "${text}" is not a duration.`, {
      code: 'InvalidDuration',
      suggestions: [`Write it as a number with a unit, e.g. --${flag} 500ms, --${flag} 2s or --${flag} 1m.`],
    })
  }
  const ms = Number(m[1]) * UNITS[(m[2] ?? 's').toLowerCase()]!
  if (!Number.isFinite(ms) || ms > 24 * 3_600_000) {
    throw new UsageError(`--${flag} "${text}" is too long (at most 24h).`, {code: 'InvalidDuration'})
  }
  return Math.round(ms)
}
