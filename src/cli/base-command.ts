import {Command, Flags, type Interfaces} from '@oclif/core'

import {type CloudProfile, resolveCloud} from '../lib/azure/clouds.js'
import type {AzureContext} from '../lib/azure/context.js'
import {ExitCode, HcctlError, InterruptedError, isHcctlError, toExitCode, UsageError} from '../lib/errors.js'
import {colorFor} from '../lib/output/color.js'
import {type Glyphs, glyphsFor} from '../lib/output/glyphs.js'
import {type Logger, streamLogger} from '../lib/output/logger.js'
import {applyQuery, validateQuery} from '../lib/output/query.js'
import {redactText} from '../lib/output/redact.js'
import {plainSpinner, progressEnabled, type Spinner, startSpinner} from '../lib/output/spinner.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** Names of oclif's parse errors: all of them are usage errors (exit 2). */
const PARSE_ERRORS = new Set([
  'ArgInvalidOptionError',
  'FailedFlagValidationError',
  'FlagInvalidOptionError',
  'NonExistentFlagsError',
  'RequiredArgsError',
  'UnexpectedArgsError',
  'CLIParseError',
])

/**
 * The one base command. It owns the contract every command shares: `--json` (and the JSON
 * error shape), `--query`, `--verbose`, `--debug`, colours, and the mapping of errors to exit
 * codes. Commands parse flags, call one library function, and return its result.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true
  /**
   * The exit code when `run()` returns a result whose `ok` is false (a check or probe that ran
   * and failed, exit 3). Commands declare it; the base command sets it.
   */
  static failedResultExitCode?: ExitCode

  static override baseFlags = {
    query: Flags.string({
      description: 'JMESPath query applied to the JSON result (implies JSON output), e.g. "value[].name".',
      helpGroup: 'GLOBAL',
    }),
    verbose: Flags.boolean({
      description: 'Log each request and decision to stderr (secrets redacted).',
      helpGroup: 'GLOBAL',
      env: 'HCCTL_VERBOSE',
    }),
    debug: Flags.boolean({description: 'Show stack traces for errors (implies --verbose).', helpGroup: 'GLOBAL'}),
  }

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  /** Aborted on SIGINT/SIGTERM; pass it to anything remote or long-lived. */
  protected readonly abort = new AbortController()
  private signalHandler?: () => void

  public override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (this.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    validateQuery(this.flags.query)
    validateBooleanEnv(this.ctor.flags ?? {}, (this.ctor as typeof BaseCommand).baseFlags)
    // `on`, not `once`: a listener must stay, or signal-exit (loaded with ora, to restore the
    // cursor) sees none left and re-raises the signal, killing the process before the command
    // can end cleanly with what it has. A second signal ends the process at once.
    this.signalHandler = (signal?: NodeJS.Signals) => {
      if (this.signalName) process.exit(ExitCode.Interrupted)
      this.signalName = signal ?? 'SIGINT'
      this.abort.abort(new InterruptedError(`Interrupted by ${this.signalName}.`))
    }
    process.on('SIGINT', this.signalHandler)
    process.on('SIGTERM', this.signalHandler)
  }

  private signalName?: NodeJS.Signals
  private readonly doneNotes: string[] = []

  /** Records what was done, for the one line an interrupt prints ("removed the scratch hybrid connection"). */
  protected noteDone(what: string): void {
    this.doneNotes.push(what)
  }

  /** Throws the interrupt when a signal arrived: call it before rendering a result a signal cut short. */
  protected stopIfInterrupted(): void {
    if (this.abort.signal.aborted) throw this.abort.signal.reason
  }

  public override async _run<R>(): Promise<R> {
    const result = await super._run<R>()
    const failed = (this.ctor as typeof BaseCommand).failedResultExitCode
    if (failed !== undefined && result && typeof result === 'object' && (result as {ok?: unknown}).ok === false) setExitCode(failed)
    return result
  }

  public override jsonEnabled(): boolean {
    if (super.jsonEnabled()) return true
    const end = this.argv.indexOf('--')
    const argv = end === -1 ? this.argv : this.argv.slice(0, end)
    return argv.some((a) => a === '--query' || a.startsWith('--query='))
  }

  protected override toSuccessJson(result: unknown): unknown {
    try {
      return applyQuery(result, this.flags?.query)
    } catch (error) {
      // A query that compiles can still fail on this data (e.g. a function on the wrong type).
      const e = normalizeError(error)
      setExitCode(e.exitCode)
      return {error: {name: e.name, code: e.code, message: e.message, suggestions: e.suggestions, exitCode: e.exitCode}}
    }
  }

  /** JSON output: pretty and coloured on a TTY, compact when piped. */
  public override logJson(json: unknown): void {
    if (process.stdout.isTTY) {
      super.logJson(json)
    } else {
      process.stdout.write(JSON.stringify(json) + '\n')
    }
  }

  /** The logger handed to the library: stderr, redacted, verbose lines only with --verbose; progress on the spinner. */
  protected logger(): Logger {
    return streamLogger({verbose: Boolean(this.flags?.verbose || this.flags?.debug), progress: (m) => this.showProgress(m)})
  }

  private waitTimer?: NodeJS.Timeout

  /**
   * Progress for the library: each step is a --verbose line and the spinner's text; without a
   * spinner (not a terminal, --json, CI), a step that is still the current one after 3 s is said
   * on stderr ("waiting: …"), so no wait is silent.
   */
  protected progress(): (message: string) => void {
    const logger = this.logger()
    const live = this.spinnerEnabled()
    return (message) => {
      logger.verbose(message)
      if (live) {
        this.showProgress(message)
        return
      }
      clearTimeout(this.waitTimer)
      this.waitTimer = setTimeout(() => process.stderr.write(`waiting: ${redactText(message)}…\n`), 3000)
      this.waitTimer.unref()
    }
  }

  private spinnerPromise?: Promise<Spinner>

  private spinnerEnabled(): boolean {
    return progressEnabled({stream: process.stderr, output: process.stdout, env: process.env, json: this.jsonEnabled()})
  }

  /**
   * The progress spinner: on stderr when it is a terminal, never with --json, NO_COLOR or CI
   * (then a no-op whose `print` writes plainly). Stopped before an error is printed and when
   * the command ends, Ctrl+C included, so no spinner residue is left.
   */
  protected spinner(): Promise<Spinner> {
    return (this.spinnerPromise ??= this.spinnerEnabled() ? startSpinner(process.stderr) : Promise.resolve(plainSpinner))
  }

  /** Sets the spinner's text (the current step). */
  protected showProgress(text: string): void {
    void this.spinner().then((s) => s.update(text))
  }

  private async stopProgress(): Promise<void> {
    if (this.spinnerPromise) (await this.spinnerPromise).stop()
  }

  /** Characters for the pictures: Unicode on a UTF-8 locale, ASCII otherwise. */
  protected get glyphs(): Glyphs {
    return glyphsFor(process.env)
  }

  /** Colours for stdout (NO_COLOR / FORCE_COLOR / TTY aware). */
  protected get color() {
    return colorFor(process.stdout)
  }

  protected cloud(name: string | undefined): CloudProfile {
    return resolveCloud(name)
  }

  private readonly azureContexts: AzureContext[] = []

  /**
   * The Azure context (credential, lazy subscription, ARM client) from
   * --cloud/--subscription/--access-token; commands that talk to Azure spread `azureFlags`.
   * Imported lazily so that --help and commands without Azure stay light.
   */
  protected async azure(flags?: {cloud?: string; subscription?: string; 'access-token'?: string}, options: {unabortable?: boolean} = {}): Promise<AzureContext> {
    const f = flags ?? (this.flags as {cloud?: string; subscription?: string; 'access-token'?: string})
    const {createAzureContext} = await import('../lib/azure/context.js')
    const context = createAzureContext({
      cloud: this.cloud(f.cloud),
      subscription: f.subscription,
      accessToken: f['access-token'],
      logger: this.logger(),
      signal: options.unabortable ? undefined : this.abort.signal,
      userAgent: `hcctl/${this.config.version}`,
    })
    this.azureContexts.push(context)
    return context
  }

  public override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<never> {
    await this.stopProgress()
    // A signal wins over whatever it caused (an aborted request, a failed step): it is an interrupt.
    const normalized = this.abort.signal.aborted && this.signalName ? this.interrupted() : normalizeError(error)
    const debug = this.flags?.debug ?? this.argv.includes('--debug')
    renderError(normalized, {json: this.jsonEnabled(), debug, stack: error.stack, logJson: (j) => this.logJson(j)})
    this.exit(normalized.exitCode)
  }

  private interrupted(): InterruptedError {
    const done = this.doneNotes.length ? ` Done before it stopped: ${this.doneNotes.join('; ')}.` : ''
    return new InterruptedError(`Interrupted by ${this.signalName}.${done}`)
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    clearTimeout(this.waitTimer)
    await this.stopProgress()
    for (const context of this.azureContexts.splice(0)) context.close()
    if (this.signalHandler) {
      process.removeListener('SIGINT', this.signalHandler)
      process.removeListener('SIGTERM', this.signalHandler)
    }
    await super.finally(error)
  }
}

/** The one place that sets the process's exit code (besides `exit` in `catch`). */
function setExitCode(code: ExitCode): void {
  process.exitCode = code
}

/**
 * Prints an error as the contract says: `--json` → `{error: {name, code, message, suggestions,
 * exitCode}}` on stdout; else one red line and the suggestions on stderr; the stack only with
 * --debug. Everything is redacted. Used by the base command and the not-found hook.
 */
export function renderError(normalized: HcctlError, options: {json: boolean; debug?: boolean; stack?: string; logJson?: (json: unknown) => void}): void {
  if (options.json) {
    const json = {
      error: {
        name: normalized.name,
        code: normalized.code,
        message: redactText(normalized.message),
        suggestions: normalized.suggestions.map(redactText),
        exitCode: normalized.exitCode,
        ...(normalized.data ? {data: normalized.data} : {}),
      },
    }
    if (options.logJson) options.logJson(json)
    else process.stdout.write(JSON.stringify(json) + '\n')
  } else {
    const red = colorFor(process.stderr)
    process.stderr.write(`${red.red('Error:')} ${redactText(normalized.message)}\n`)
    for (const s of normalized.suggestions) process.stderr.write(`  ${red.dim('→')} ${redactText(s)}\n`)
  }
  if (options.debug && options.stack) process.stderr.write(redactText(options.stack) + '\n')
}

/**
 * Boolean flags read from the environment (HCCTL_VERBOSE=…): oclif takes anything it does not
 * know as false; a value that is neither true nor false is a usage error naming the variable.
 */
function validateBooleanEnv(...flagSets: Array<Record<string, {type?: string; env?: string}>>): void {
  for (const flags of flagSets) {
    for (const [name, flag] of Object.entries(flags)) {
      if (flag.type !== 'boolean' || !flag.env) continue
      const value = process.env[flag.env]
      if (value === undefined || value === '') continue
      if (!/^(true|false|1|0|yes|no|on|off)$/i.test(value.trim())) {
        throw new UsageError(`${flag.env} "${value.slice(0, 30)}" is not true or false (it sets --${name}).`, {
          code: 'InvalidEnvironment',
          suggestions: [`Set ${flag.env}=true or ${flag.env}=false, or unset it.`],
        })
      }
    }
  }
}

/** Turns whatever was thrown into an HcctlError with the right exit code. */
export function normalizeError(error: unknown): HcctlError {
  if (isHcctlError(error)) {
    // A typed error thrown by a custom flag's parse comes back wrapped in oclif's
    // "Parsing --flag \n\t...\nSee more help with --help": keep our own message.
    const wrapped = /^Parsing --\S+ \n\t([\s\S]*?)(?:\nSee more help with --help)?$/.exec(error.message)
    if (wrapped) error.message = wrapped[1]!
    return error
  }
  const e = error as Error & {oclif?: {exit?: number}; code?: string}
  if (e && (PARSE_ERRORS.has(e.name) || e.oclif?.exit === 2)) {
    return new HcctlError(firstLine(e.message), ExitCode.Usage, {
      code: 'UsageError',
      suggestions: ['Run the command with --help to see its flags and examples.'],
    })
  }
  if (e?.oclif?.exit !== undefined && e.oclif.exit !== 1) {
    return new HcctlError(firstLine(e.message), toExitCode(e.oclif.exit), {code: e.code ?? 'Error'})
  }
  return new HcctlError(`Unexpected error: ${e?.message ?? String(error)}`, ExitCode.Unexpected, {
    code: 'Unexpected',
    suggestions: ['This is probably a bug in hcctl. Re-run with --debug and report the output (secrets are redacted).'],
    cause: error,
  })
}

function firstLine(message: string): string {
  const parsing = /^Parsing (--[\w-]+)\s*\n\t([^\n]*)/.exec(message)
  if (parsing) return `${parsing[1]}: ${parsing[2]!.trim()}`
  // oclif appends "See more help with --help"; keep the message itself.
  return message.split('\n').filter((l) => l.trim() && !/^See more help/.test(l)).join(' ').trim()
}
