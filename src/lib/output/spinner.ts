/**
 * Spinners for people: only on a TTY stderr and never with --json. ora is imported lazily so
 * that commands that never spin do not pay for it at start-up.
 */
export interface Spinner {
  update(text: string): void
  succeed(text?: string): void
  fail(text?: string): void
  stop(): void
}

const noop: Spinner = {update() {}, succeed() {}, fail() {}, stop() {}}

export async function startSpinner(text: string, options: {enabled: boolean}): Promise<Spinner> {
  if (!options.enabled || !process.stderr.isTTY) return noop
  const {default: ora} = await import('ora')
  const s = ora({text, stream: process.stderr}).start()
  return {
    update(t) {
      s.text = t
    },
    succeed(t) {
      s.succeed(t)
    },
    fail(t) {
      s.fail(t)
    },
    stop() {
      s.stop()
    },
  }
}
