import {Args, Flags} from '@oclif/core'

import {ProvisioningCommand} from '../cli/provisioning.js'
import {azureFlags, durationFlag} from '../cli/flags.js'
import type {CheckResult, CheckRunResult} from '../lib/diagnose/check/index.js'
import {ExitCode, UsageError} from '../lib/errors.js'

export default class Check extends ProvisioningCommand<typeof Check> {
  static override failedResultExitCode = ExitCode.CheckFailed
  static override summary = 'Check every hop of a hybrid connection and say how to fix the broken one.'
  static override description =
    'For an app (all its hybrid connections) or one hybrid connection: the app and its plan, the configuration on both sides (metadata, drift, DNS-name endpoint), the app\'s key, the agents, the network from this machine to the relay (DNS, TCP 443, TLS, WebSocket directly and through HTTPS_PROXY, clock), and a round trip as the app. A failed layer skips what depends on it. Exit 0 when nothing failed (warnings allowed unless --strict), 3 otherwise. Check ids are stable: `--json` gives the full list for CI gates.'
  static override examples = [
    '<%= config.bin %> check --app my-app --resource-group my-rg',
    '<%= config.bin %> check onprem-sql --namespace contoso-relay --resource-group relay-rg --probe http',
    '<%= config.bin %> check --app my-app --resource-group my-rg --send "PING\\r\\n" --expect "^\\+PONG" --strict --json',
    '<%= config.bin %> check --app my-app --resource-group my-rg --gateways --probe tls --json',
  ]

  static override args = {hybridConnection: Args.string({name: 'hc', description: 'Hybrid connection name (with --namespace); with --app, only this one.'})}
  static override flags = {
    ...azureFlags,
    'resource-group': Flags.string({char: 'g', description: 'Resource group of the app (with --app) or of the relay.', env: 'HCCTL_RESOURCE_GROUP', required: true}),
    app: Flags.string({description: 'Check this App Service app and all its hybrid connections.'}),
    slot: Flags.string({description: 'Deployment slot of the app.', dependsOn: ['app']}),
    namespace: Flags.string({description: 'Relay namespace of the hybrid connection.', env: 'HCCTL_NAMESPACE'}),
    'relay-resource-group': Flags.string({description: 'Resource group of the relay when the app\'s hybrid connection does not say (rare).'}),
    strict: Flags.boolean({description: 'Warnings fail the run too (exit 3).'}),
    send: Flags.string({description: 'After connecting, send this text (\\r and \\n are understood) to the endpoint...'}),
    expect: Flags.string({description: '...and expect an answer matching this regular expression.', dependsOn: ['send']}),
    probe: Flags.string({description: 'Probe the endpoint through the tunnel: http sends a HEAD request; tls checks that its certificate is for the endpoint\'s name.', options: ['http', 'tls'], exclusive: ['send']}),
    gateways: Flags.boolean({description: 'Also probe the 256 gateway names of the namespace\'s stamp from this machine (net.gateways).'}),
    stamp: Flags.string({description: 'The relay stamp for --gateways (e.g. sn3-010) instead of reading it from DNS.', dependsOn: ['gateways']}),
    attempts: Flags.integer({description: 'Round trips to make (default 2 × the number of agents, to reach each one).', min: 1, max: 100}),
    timeout: durationFlag({description: 'Timeout of each network operation.', default: 10_000, defaultHelp: async () => '10s', minMs: 1}),
  }

  async run(): Promise<CheckRunResult> {
    const f = this.flags
    const hc = this.args.hybridConnection
    if (!f.app && !(hc && f.namespace)) {
      throw new UsageError('Say what to check: --app APP, or a hybrid connection name with --namespace.', {
        code: 'NothingToCheck',
        suggestions: ['hcctl check --app my-app --resource-group my-rg', 'hcctl check onprem-sql --namespace contoso-relay --resource-group relay-rg'],
      })
    }
    if (hc && !f.namespace) throw new UsageError('A hybrid connection name needs --namespace.', {code: 'MissingNamespace'})
    let expect: RegExp | undefined
    try {
      expect = f.expect === undefined ? undefined : new RegExp(f.expect)
    } catch (error) {
      throw new UsageError(`--expect is not a regular expression: ${(error as Error).message}`, {code: 'InvalidRegex'})
    }
    const offset = clockOffsetMs(process.env.HCCTL_CLOCK_OFFSET)
    const ctx = await this.hybrid()
    const {runCheck} = await import('../lib/diagnose/check/index.js')
    const logger = this.logger()
    const spinner = await this.spinner()
    const live = spinner.live ? await this.liveLines() : undefined
    let done = 0
    spinner.update('checking')
    const result = await runCheck({
      cloud: this.cloud(f.cloud),
      arm: ctx.arm,
      relay: ctx.relay,
      subscriptionId: ctx.subscriptionId,
      app: f.app ? {resourceGroup: f['resource-group'], app: f.app, ...(f.slot ? {slot: f.slot} : {})} : undefined,
      hybridConnection: hc ? {namespace: f.namespace!, name: hc, resourceGroup: f.app ? f['relay-resource-group'] : f['resource-group']} : undefined,
      strict: f.strict,
      roundTrip: {attempts: f.attempts, send: f.send === undefined ? undefined : unescape(f.send), expect, probe: f.probe === 'http' ? 'http' : undefined},
      extra: {...(f.gateways ? {gateways: {stamp: f.stamp}} : {}), endpointTls: f.probe === 'tls'},
      timeoutMs: f.timeout,
      now: offset ? () => Date.now() + offset : undefined,
      signal: this.abort.signal,
      onResult: (r) => {
        logger.verbose(`${r.status} ${r.id}${r.target ? ` (${r.target})` : ''}: ${r.evidence[0] ?? ''}`)
        for (const line of live?.(r) ?? []) spinner.print(line)
        spinner.update(`checking: ${++done} done, last ${r.id}${r.target ? ` (${r.target})` : ''}`)
      },
    })
    spinner.stop()
    this.stopIfInterrupted()
    if (!this.jsonEnabled()) {
      const {renderReport, renderReportTail} = await import('../lib/diagnose/check/render.js')
      // On a terminal the results were printed as they came: only the tail is left.
      this.log(live ? renderReportTail(result, this.color, this.glyphs) : renderReport(result, this.color, this.glyphs))
    }
    return result
  }

  /** Lines of each result as it completes, aligned on every check's id and title. */
  private async liveLines(): Promise<(r: CheckResult) => string[]> {
    const [{liveReport, reportWidth}, {APP_CHECKS}, {perHybridConnectionChecks}] = await Promise.all([
      import('../lib/diagnose/check/render.js'),
      import('../lib/diagnose/check/hybrid.js'),
      import('../lib/diagnose/check/index.js'),
    ])
    return liveReport(reportWidth([...APP_CHECKS, ...perHybridConnectionChecks(true), ...perHybridConnectionChecks(false)]), this.color)
  }
}

/** `\r`, `\n`, `\t` and `\\` in --send, so protocols that need CRLF can be probed from a shell. */
function unescape(text: string): string {
  return text.replace(/\\([rnt\\])/g, (_, c: string) => ({r: '\r', n: '\n', t: '\t', '\\': '\\'})[c]!)
}

/** HCCTL_CLOCK_OFFSET (seconds, may be negative): pretend this machine's clock is off, to rehearse a skewed host. */
function clockOffsetMs(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 0
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new UsageError(`HCCTL_CLOCK_OFFSET "${raw}" is not a number of seconds.`, {code: 'InvalidClockOffset'})
  return n * 1000
}
