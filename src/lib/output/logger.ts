import {redactText} from './redact.js'

/**
 * Where the library reports progress and diagnostics. The library never writes to the
 * console itself: commands pass a Logger that writes to stderr, tests pass one that records.
 * Every message is redacted before it is written.
 */
export interface Logger {
  /** One line for `--verbose` (requests, responses, decisions). */
  verbose(message: string): void
  /** A warning the user should read; always shown (stderr). */
  warn(message: string): void
  /** Progress for people (spinner text on a TTY). */
  progress?(message: string): void
}

export const silentLogger: Logger = {verbose() {}, warn() {}}

export function streamLogger(options: {verbose: boolean; write?: (line: string) => void; progress?: (message: string) => void}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const progress = options.progress
  return {
    ...(progress ? {progress: (message: string) => progress(redactText(message))} : {}),
    verbose(message) {
      if (options.verbose) write(redactText(message))
    },
    warn(message) {
      write(`Warning: ${redactText(message)}`)
    },
  }
}

/** A logger that keeps every line, for tests. */
export function recordingLogger(): Logger & {lines: string[]} {
  const lines: string[] = []
  return {
    lines,
    verbose(message) {
      lines.push(redactText(message))
    },
    warn(message) {
      lines.push(`Warning: ${redactText(message)}`)
    },
  }
}
