import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {azureFlags, durationFlag} from '../cli/flags.js'
import {formatAttempt, formatDns, formatSummary} from '../lib/diagnose/tcpping-render.js'
import {parseHostPort, tcpPing, type TcpPingResult} from '../lib/diagnose/tcpping.js'
import {ExitCode, UsageError} from '../lib/errors.js'

export default class TcpPing extends BaseCommand<typeof TcpPing> {
  static override failedResultExitCode = ExitCode.CheckFailed
  static override summary = 'Measure TCP connects to host:port, from here or from inside an App Service app.'
  static override description =
    'Resolves the name once (timed, every address shown), then makes one TCP connection per attempt to the first address and reports each result (connected in N ms, refused, timed out, unreachable, no such host) and a PsPing-like summary (p50/p95 from 10 attempts). Exit 0 when every attempt connected (or at least --min-success), 3 otherwise. With --app it runs `tcpping` inside the app through the Kudu command API; when host:port is one of the app\'s hybrid connections the result is labelled as having gone through it.'
  static override examples = [
    '<%= config.bin %> tcpping db01.corp.local:1433',
    '<%= config.bin %> tcpping db01.corp.local:1433 --count 20 --interval 200ms --timeout 1s --json',
    '<%= config.bin %> tcpping db01.corp.local:1433 --app my-app --resource-group my-rg',
  ]

  static override args = {
    target: Args.string({description: 'host:port (or [ipv6]:port) to connect to.', required: true}),
  }

  static override flags = {
    count: Flags.integer({char: 'n', description: 'Number of attempts (at most 100000; -t for more).', default: 4, min: 1, max: 100_000, exclusive: ['continuous']}),
    continuous: Flags.boolean({char: 't', description: 'Repeat until Ctrl+C, then print the summary.'}),
    interval: durationFlag({description: 'Pause between attempts (e.g. 1s, 200ms).', default: 1000, defaultHelp: async () => '1s', minMs: 0}),
    timeout: durationFlag({description: 'How long one connect may take.', default: 2000, defaultHelp: async () => '2s', minMs: 1}),
    ipv4: Flags.boolean({char: '4' as 'a', description: 'Use IPv4 only.', exclusive: ['ipv6']}),
    ipv6: Flags.boolean({char: '6' as 'a', description: 'Use IPv6 only.', exclusive: ['ipv4']}),
    'min-success': Flags.integer({description: 'Succeed (exit 0) when at least this many attempts connected.', min: 1}),
    app: Flags.string({description: 'Run inside this App Service app (Kudu command API) instead of from here.'}),
    slot: Flags.string({description: 'Deployment slot of --app.', dependsOn: ['app']}),
    'resource-group': Flags.string({char: 'g', description: 'Resource group of --app.', env: 'HCCTL_RESOURCE_GROUP'}),
    ...azureFlags,
  }

  async run(): Promise<TcpPingResult> {
    const {host, port} = parseHostPort(this.args.target)
    const flags = this.flags
    if (flags['min-success'] !== undefined && !flags.continuous && flags['min-success'] > flags.count) {
      throw new UsageError(`--min-success ${flags['min-success']} is more than the ${flags.count} attempts (--count).`, {
        code: 'MinSuccessOverCount',
        suggestions: [`Lower --min-success, or raise --count to at least ${flags['min-success']}.`],
      })
    }
    const common = {
      host,
      port,
      count: flags.continuous ? Number.POSITIVE_INFINITY : flags.count,
      intervalMs: flags.interval,
      timeoutMs: flags.timeout,
      family: flags.ipv4 ? (4 as const) : flags.ipv6 ? (6 as const) : undefined,
      minSuccess: flags['min-success'],
      signal: this.abort.signal,
    }
    const human = !this.jsonEnabled()
    let result: TcpPingResult
    if (flags.app) {
      if (!flags['resource-group']) throw new UsageError('--app needs --resource-group.', {code: 'MissingResourceGroup'})
      result = await this.remote({...common, app: flags.app, slot: flags.slot, resourceGroup: flags['resource-group']})
      if (human) {
        this.log(formatDns(result))
        for (const a of result.attempts) this.log(formatAttempt(a))
      }
    } else {
      result = await tcpPing({
        ...common,
        onResolved: human ? (dns) => this.log(formatDns({target: {host, port}, dns, from: {kind: 'local'}})) : undefined,
        onAttempt: human ? (a) => this.log(formatAttempt(a)) : undefined,
      })
    }
    if (human) this.log(formatSummary(result, this.glyphs))
    return result
  }

  private async remote(o: {host: string; port: number; count: number; timeoutMs: number; minSuccess?: number; app: string; slot?: string; resourceGroup: string}): Promise<TcpPingResult> {
    this.showProgress(`running tcpping inside ${o.app} (Kudu command API)`)
    const azure = await this.azure(this.flags)
    const {tcpPingFromApp} = await import('../lib/diagnose/tcpping-remote.js')
    return tcpPingFromApp({
      arm: azure.arm,
      subscriptionId: azure.subscriptionId,
      app: {resourceGroup: o.resourceGroup, app: o.app, ...(o.slot ? {slot: o.slot} : {})},
      host: o.host,
      port: o.port,
      count: o.count,
      timeoutMs: o.timeoutMs,
      minSuccess: o.minSuccess,
      signal: this.abort.signal,
    })
  }
}
