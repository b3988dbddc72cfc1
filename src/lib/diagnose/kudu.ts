import {type TcpFailure, type TcpPingAttempt, summarize} from './tcpping.js'

/**
 * Kudu's `tcpping` output, as the command API returns it (`{Output, Error, ExitCode}`):
 *
 *     Connected to db01:1433, time taken: 41ms
 *     Connected to db01:1433, time taken: <1ms
 *     Connection attempt failed: No such host is known
 *     Complete: 2/3 successful attempts (66%). Average success time: 20.5ms
 *
 * Parsed line by line into tcpping attempts; lines it does not know are ignored (kept in `other`).
 */
export interface KuduTcpPing {
  attempts: TcpPingAttempt[]
  /** The "Complete: N/M" line's numbers, when present (a cross-check). */
  reported?: {connected: number; sent: number}
  other: string[]
}

export function classifyKuduFailure(text: string): TcpFailure {
  const t = text.toLowerCase()
  if (/no such host|name or service not known|not known|nodename nor servname|could not resolve|no address/.test(t)) return 'no such host'
  if (/refused|actively refused/.test(t)) return 'refused'
  if (/timed out|timeout|did not properly respond/.test(t)) return 'timed out'
  if (/unreachable|no route/.test(t)) return 'unreachable'
  return 'error'
}

export function parseKuduTcpPing(output: string): KuduTcpPing {
  const attempts: TcpPingAttempt[] = []
  const other: string[] = []
  let reported: KuduTcpPing['reported']
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim()
    if (!line) continue
    const ok = /^Connected to (.+?), time taken: (<)?\s*(\d+(?:\.\d+)?)\s*ms\b/i.exec(line)
    if (ok) {
      attempts.push({seq: attempts.length + 1, address: ok[1], connected: true, timeMs: ok[2] ? 0 : Number(ok[3])})
      continue
    }
    const failed = /^Connection attempt failed:?\s*(.*)$/i.exec(line) ?? /^(Connection (?:timed out|refused).*)$/i.exec(line)
    if (failed) {
      attempts.push({seq: attempts.length + 1, connected: false, error: classifyKuduFailure(failed[1]!), message: failed[1]!.slice(0, 300)})
      continue
    }
    const complete = /^Complete:\s*(\d+)\s*\/\s*(\d+)/i.exec(line)
    if (complete) {
      reported = {connected: Number(complete[1]), sent: Number(complete[2])}
      continue
    }
    other.push(line.slice(0, 300))
  }
  return {attempts, ...(reported ? {reported} : {}), other}
}

export {summarize}

export interface KuduCommandResult {
  Output?: string
  Error?: string
  ExitCode?: number
}

/**
 * Validates the command API's answer (outside input): an object with string Output/Error.
 * Returns the parsed tcpping, or throws with what was wrong.
 */
export function readKuduAnswer(body: unknown): {output: string; error: string; exitCode?: number} {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('the Kudu command API answered something that is not a JSON object')
  const b = body as Record<string, unknown>
  const pick = (k: string) => b[k] ?? b[k.toLowerCase()]
  const output = pick('Output')
  const error = pick('Error')
  if (output !== undefined && typeof output !== 'string') throw new Error('the Kudu command API answered an Output that is not text')
  const exitCode = pick('ExitCode')
  return {output: (output as string | undefined) ?? '', error: typeof error === 'string' ? error : '', ...(typeof exitCode === 'number' ? {exitCode} : {})}
}
