/**
 * Progress for people: one ora spinner on a terminal's stderr, with the current step as its
 * text, and lines printed above it. The library never decides to draw one: commands (src/cli)
 * ask `progressEnabled` and hand use-cases a callback that updates the spinner. ora is
 * imported lazily so that commands that never spin do not pay for it at start-up.
 */
export interface Spinner {
  /** True when it draws on a terminal (commands then print results as they come). */
  readonly live: boolean
  /** Shows (or replaces) the current step. */
  update(text: string): void
  /** Prints a line that stays, above the spinner (the spinner is redrawn below it). */
  print(line: string, stream?: NodeJS.WriteStream): void
  /** Takes the spinner off the screen until the next `update` (e.g. while asking a question). */
  pause(): void
  /** Removes the spinner and leaves nothing of it on the terminal. Idempotent. */
  stop(): void
}

export interface ProgressEnv {
  /** The stream the spinner draws on (stderr). */
  stream: {isTTY?: boolean}
  /** Where results go (stdout): piped or redirected output means a script is reading, no spinner. */
  output: {isTTY?: boolean}
  env: NodeJS.ProcessEnv
  /** `--json` or `--query`: machine output, no progress. */
  json: boolean
}

/** Spinners only on a terminal (stderr and stdout), never with --json, NO_COLOR, CI, or a dumb terminal. */
export function progressEnabled(o: ProgressEnv): boolean {
  if (o.json || !o.stream.isTTY || !o.output.isTTY) return false
  const set = (name: string) => o.env[name] !== undefined && o.env[name] !== '' && o.env[name] !== '0' && o.env[name] !== 'false'
  if (set('NO_COLOR') || set('CI') || o.env.TERM === 'dumb') return false
  return true
}

/** Lines go straight to their stream; nothing is drawn (off a terminal, or with --json). */
export const plainSpinner: Spinner = {
  live: false,
  update() {},
  print(line, stream = process.stdout) {
    stream.write(line + '\n')
  },
  pause() {},
  stop() {},
}

/**
 * Starts a spinner on `stream` (a TTY), hidden until the first `update`. ora's own stdin
 * handling is off (`discardStdin: false`), so Ctrl+C reaches the process as SIGINT and the
 * command's abort signal ends the work; `stop()` in the command's `finally` clears the line.
 */
export async function startSpinner(stream: NodeJS.WriteStream = process.stderr): Promise<Spinner> {
  const {default: ora} = await import('ora')
  const s = ora({stream, discardStdin: false, isEnabled: true})
  let stopped = false
  return {
    live: true,
    update(text) {
      if (stopped) return
      s.text = text
      if (!s.isSpinning) s.start()
    },
    print(line, out = process.stdout) {
      // ora 9 hooks stdout and stderr while it spins: it clears its line, lets the write
      // through, and redraws itself below it.
      out.write(line + '\n')
    },
    pause() {
      if (s.isSpinning) s.stop()
    },
    stop() {
      if (stopped) return
      stopped = true
      s.stop()
    },
  }
}
