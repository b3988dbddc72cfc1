import {redactText} from '../output/redact.js'

/**
 * Structured log records of the agent and the forwarder: one per connection (when it ends,
 * with when it opened, bytes each way, duration and error) plus lifecycle events. Formatted as
 * one line of text or one JSON object per line; always redacted.
 */
export interface RelayLogRecord {
  time: string
  level: 'info' | 'warn' | 'error'
  /** connection | listening | disconnected | reconnecting | fatal | ready | draining | stopped | warning | renewed */
  event: string
  /** ns/hc */
  hc?: string
  msg?: string
  [field: string]: unknown
}

export type LogFormat = 'text' | 'json'
export type RelayLogSink = (record: RelayLogRecord) => void

export function record(level: RelayLogRecord['level'], event: string, fields: Omit<RelayLogRecord, 'time' | 'level' | 'event'> = {}): RelayLogRecord {
  return {time: new Date().toISOString(), level, event, ...fields}
}

export function formatLogRecord(r: RelayLogRecord, format: LogFormat): string {
  if (format === 'json') return redactText(JSON.stringify(r))
  const {time, level, event, msg, ...rest} = r
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${formatValue(v)}`)
  return redactText([time, level.toUpperCase().padEnd(5), event, ...(msg ? [JSON.stringify(msg)] : []), ...fields].join(' '))
}

function formatValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return /^[\w.:/@[\]-]+$/.test(s) ? s : JSON.stringify(s)
}
