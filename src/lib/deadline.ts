/**
 * A one-shot operation with a deadline and an abort signal: `start` begins the work and gets
 * `settle`; the first of settle, the timeout and the abort wins, and `start`'s cleanup runs
 * once with the error (if any) so the caller can tear down what failed (a request, a socket)
 * and keep what succeeded. Used for handshakes and network probes.
 */
export interface DeadlineOptions {
  timeoutMs: number
  signal?: AbortSignal
  /** The error when time runs out. */
  timeoutError: () => Error
  /** The error when the signal aborts (default: an Error "interrupted" with code ABORT_ERR). */
  abortError?: () => Error
}

export function withDeadline<T>(options: DeadlineOptions, start: (settle: (error?: Error, value?: T) => void) => (error?: Error) => void): Promise<T> {
  const abortError = (): Error => options.abortError?.() ?? Object.assign(new Error('interrupted'), {code: 'ABORT_ERR'})
  if (options.signal?.aborted) return Promise.reject(abortError())
  return new Promise<T>((resolve, reject) => {
    let cleanup: (error?: Error) => void = () => {} // until start returns
    let settled = false
    let failure: Error | undefined
    const settle = (error?: Error, value?: T): void => {
      if (settled) return
      settled = true
      failure = error
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      cleanup(error)
      if (error) reject(error)
      else resolve(value as T)
    }
    const timer = setTimeout(() => settle(options.timeoutError()), options.timeoutMs)
    const onAbort = (): void => settle(abortError())
    options.signal?.addEventListener('abort', onAbort, {once: true})
    cleanup = start(settle)
    if (settled) cleanup(failure) // settled synchronously inside start
  })
}
