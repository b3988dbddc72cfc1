/**
 * Errors by kind. Every error hcctl raises on purpose is an HcctlError: it carries a stable
 * `code`, the exit code of the architecture page, and next steps for the user. Anything else
 * that reaches the base command is a bug (exit 1). Check errors by `name`/`code`, not only
 * `instanceof` (two copies of this module may be loaded).
 */

/** Exit codes: the public contract documented in the README. */
export const ExitCode = {
  Ok: 0,
  Unexpected: 1,
  Usage: 2,
  CheckFailed: 3,
  NotFound: 4,
  Auth: 5,
  Conflict: 6,
  /** Stopped by SIGINT/SIGTERM before it finished (128 + SIGINT, as shells report it). */
  Interrupted: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export interface HcctlErrorOptions {
  /** Stable machine-readable code, e.g. `InvalidResourceId`, `ResourceNotFound`. */
  code?: string
  /** What the user can do next; each entry one sentence. */
  suggestions?: string[]
  cause?: unknown
  /** Extra facts for `--json` (never secrets). */
  data?: Record<string, unknown>
}

export class HcctlError extends Error {
  override name = 'HcctlError'
  readonly code: string
  readonly exitCode: ExitCode
  readonly suggestions: string[]
  readonly data?: Record<string, unknown>

  constructor(message: string, exitCode: ExitCode, options: HcctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.code = options.code ?? 'Error'
    this.exitCode = exitCode
    this.suggestions = options.suggestions ?? []
    this.data = options.data
  }
}

/** The user asked for something malformed: a flag, a file, a resource id, a connection string. */
export class UsageError extends HcctlError {
  override name = 'UsageError'
  constructor(message: string, options: HcctlErrorOptions = {}) {
    super(message, ExitCode.Usage, {code: 'UsageError', ...options})
  }
}

export class NotFoundError extends HcctlError {
  override name = 'NotFoundError'
  constructor(message: string, options: HcctlErrorOptions = {}) {
    super(message, ExitCode.NotFound, {code: 'NotFound', ...options})
  }
}

/** Authentication failed or the principal lacks a permission. */
export class AuthError extends HcctlError {
  override name = 'AuthError'
  constructor(message: string, options: HcctlErrorOptions = {}) {
    super(message, ExitCode.Auth, {code: 'AuthenticationFailed', ...options})
  }
}

/** A conflict with existing state, or a limit reached. */
export class ConflictError extends HcctlError {
  override name = 'ConflictError'
  constructor(message: string, options: HcctlErrorOptions = {}) {
    super(message, ExitCode.Conflict, {code: 'Conflict', ...options})
  }
}

/** A check or probe ran and failed (the result is still rendered). */
export class CheckFailedError extends HcctlError {
  override name = 'CheckFailedError'
  constructor(message: string, options: HcctlErrorOptions = {}) {
    super(message, ExitCode.CheckFailed, {code: 'CheckFailed', ...options})
  }
}

/** Something went wrong that the user cannot fix: a bug in hcctl, or an unexpected remote answer. */
export class BugError extends HcctlError {
  override name = 'BugError'
  constructor(message: string, options: HcctlErrorOptions = {}) {
    super(message, ExitCode.Unexpected, {code: 'Bug', ...options})
  }
}

export function isHcctlError(error: unknown): error is HcctlError {
  return (
    error instanceof HcctlError ||
    (typeof error === 'object' &&
      error !== null &&
      typeof (error as HcctlError).exitCode === 'number' &&
      typeof (error as HcctlError).code === 'string' &&
      Array.isArray((error as HcctlError).suggestions))
  )
}

/** The exit code for a number from elsewhere (oclif, a child process): one of the table, else Unexpected. */
export function toExitCode(n: number | undefined): ExitCode {
  return (Object.values(ExitCode) as number[]).includes(n ?? -1) ? (n as ExitCode) : ExitCode.Unexpected
}

/** Stopped by the user (Ctrl+C) or the service manager (SIGTERM); says what was done. */
export class InterruptedError extends HcctlError {
  override name = 'InterruptedError'
  constructor(message: string, options: HcctlErrorOptions = {}) {
    super(message, ExitCode.Interrupted, {code: 'Interrupted', ...options})
  }
}

/** Maps an HTTP status from ARM or the relay to our exit code. */
export function exitCodeForStatus(status: number, code?: string): ExitCode {
  if (status === 404) return ExitCode.NotFound
  if (status === 401 || status === 403) return ExitCode.Auth
  if (status === 409 || status === 412) return ExitCode.Conflict
  if (code && /limit|quota/i.test(code)) return ExitCode.Conflict
  if (status === 400 || status === 422) return ExitCode.Usage
  return ExitCode.Unexpected
}
