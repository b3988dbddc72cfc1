import {Command, Flags, type Interfaces} from '@oclif/core'

import {type CloudProfile, resolveCloud} from '../lib/azure/clouds.js'
import type {AzureContext} from '../lib/azure/context.js'
import {ExitCode, HcctlError, isHcctlError} from '../lib/errors.js'
import {colorFor} from '../lib/output/color.js'
import {type Logger, streamLogger} from '../lib/output/logger.js'
import {type Glyphs, glyphsFor} from '../lib/output/glyphs.js'
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
    // `on`, not `once`: a listener must stay, or signal-exit (loaded with ora, to restore the
    // cursor) sees none left and re-raises the signal, killing the process before the command
    // can end cleanly with what it has. A second signal ends the process at once.
    let signalled = false
    this.signalHandler = () => {
      if (signalled) process.exit(130)
      signalled = true
      this.abort.abort(new HcctlError('Interrupted.', ExitCode.Unexpected, {code: 'Interrupted'}))
    }
    process.on('SIGINT', this.signalHandler)
    process.on('SIGTERM', this.signalHandler)
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
      process.exitCode = e.exitCode
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

  private spinner?: Promise<Spinner>

  /**
   * The progress spinner: on stderr when it is a terminal, never with --json, NO_COLOR or CI
   * (then a no-op whose `print` writes plainly). Stopped before an error is printed and when
   * the command ends, Ctrl+C included, so no spinner residue is left.
   */
  protected progress(): Promise<Spinner> {
    return (this.spinner ??= progressEnabled({stream: process.stderr, output: process.stdout, env: process.env, json: this.jsonEnabled()}) ? startSpinner(process.stderr) : Promise.resolve(plainSpinner))
  }

  /** Sets the spinner's text (the current step). */
  protected showProgress(text: string): void {
    void this.progress().then((s) => s.update(text))
  }

  private async stopProgress(): Promise<void> {
    if (this.spinner) (await this.spinner).stop()
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
   * The Azure context (credential, lazy subscription, ARM client, Relay SDK) from
   * --cloud/--subscription/--access-token; commands that talk to Azure spread `azureFlags`.
   * Imported lazily so that --help and commands without Azure stay light.
   */
  protected async azure(flags?: {cloud?: string; subscription?: string; 'access-token'?: string}): Promise<AzureContext> {
    const f = flags ?? (this.flags as {cloud?: string; subscription?: string; 'access-token'?: string})
    const {createAzureContext} = await import('../lib/azure/context.js')
    const context = createAzureContext({
      cloud: this.cloud(f.cloud),
      subscription: f.subscription,
      accessToken: f['access-token'],
      logger: this.logger(),
      signal: this.abort.signal,
      userAgent: `hcctl/${this.config.version}`,
    })
    this.azureContexts.push(context)
    return context
  }

  public override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<never> {
    await this.stopProgress()
    const normalized = normalizeError(error)
    const debug = this.flags?.debug ?? this.argv.includes('--debug')
    if (this.jsonEnabled()) {
      this.logJson({
        error: {
          name: normalized.name,
          code: normalized.code,
          message: redactText(normalized.message),
          suggestions: normalized.suggestions.map(redactText),
          exitCode: normalized.exitCode,
          ...(normalized.data ? {data: normalized.data} : {}),
        },
      })
    } else {
      const red = colorFor(process.stderr)
      process.stderr.write(`${red.red('Error:')} ${redactText(normalized.message)}\n`)
      for (const s of normalized.suggestions) process.stderr.write(`  ${red.dim('→')} ${redactText(s)}\n`)
    }
    if (debug && error.stack) process.stderr.write(redactText(error.stack) + '\n')
    this.exit(normalized.exitCode)
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    await this.stopProgress()
    for (const context of this.azureContexts.splice(0)) context.close()
    if (this.signalHandler) {
      process.removeListener('SIGINT', this.signalHandler)
      process.removeListener('SIGTERM', this.signalHandler)
    }
    await super.finally(error)
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
    return new HcctlError(firstLine(e.message), e.oclif.exit as ExitCode, {code: e.code ?? 'Error'})
  }
  return new HcctlError(`Unexpected error: ${e?.message ?? String(error)}`, ExitCode.Unexpected, {
    code: 'Unexpected',
    suggestions: ['This is probably a bug in hcctl. Re-run with --debug and report the output (secrets are redacted).'],
    cause: error,
  })
}

function firstLine(message: string): string {
  // oclif appends "See more help with --help"; keep the message itself.
  return message.split('\n').filter((l) => l.trim() && !/^See more help/.test(l)).join(' ').trim()
}
