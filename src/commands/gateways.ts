import {Args, Flags} from '@oclif/core'

import {ProvisioningCommand} from '../cli/provisioning.js'
import {azureFlags, durationFlag} from '../cli/flags.js'
import type {GatewaysResult} from '../lib/diagnose/gateways.js'
import {ExitCode, NotFoundError} from '../lib/errors.js'

export default class Gateways extends ProvisioningCommand<typeof Gateways> {
  static override failedResultExitCode = ExitCode.CheckFailed
  static override summary = 'The 256 relay gateway names a firewall must allow for a namespace, and whether this machine reaches them.'
  static override description =
    'Reads the namespace\'s stamp from its DNS aliases (or --stamp) and prints G0…G127-prod-STAMP-sb and GV0…GV127-prod-STAMP-sb under the cloud\'s relay suffix, one per line (--format csv|json for a firewall team). --resolve adds addresses; --probe resolves, connects (TCP 443) and shakes hands (TLS) with every name, a bounded number at a time within --deadline, and exits 3 when any is blocked, listing them on stderr. With --resource-group the namespace is first looked up through ARM (exit 4 when missing).'
  static override examples = [
    '<%= config.bin %> gateways contoso-relay > allowlist.txt',
    '<%= config.bin %> gateways contoso-relay --resource-group relay-rg --probe --format csv > gateways.csv',
    '<%= config.bin %> gateways contoso-relay --stamp sn3-010 --probe --concurrency 16 --deadline 30s --json',
  ]

  static override args = {namespace: Args.string({description: 'Relay namespace name.', required: true})}
  static override flags = {
    ...azureFlags,
    'resource-group': Flags.string({char: 'g', description: 'Resource group of the namespace: check through ARM that it exists first.', env: 'HCCTL_RESOURCE_GROUP'}),
    stamp: Flags.string({description: 'The stamp (e.g. sn3-010) instead of reading it from DNS.'}),
    resolve: Flags.boolean({description: 'Resolve every name (adds addresses).', exclusive: ['probe']}),
    probe: Flags.boolean({description: 'Resolve, TCP-connect and TLS-handshake every name; exit 3 when one is blocked.'}),
    format: Flags.string({description: 'stdout for people: names one per line, CSV with addresses and status, or a JSON array.', options: ['list', 'csv', 'json'], default: 'list'}),
    concurrency: Flags.integer({description: 'Probes at a time.', default: 32, min: 1, max: 256}),
    timeout: durationFlag({description: 'Timeout of each DNS, TCP and TLS step of one name.', default: 5000, defaultHelp: async () => '5s', minMs: 1}),
    deadline: durationFlag({description: 'Time for all names together; names not done by then are "unknown".', default: 60_000, defaultHelp: async () => '60s', minMs: 1}),
  }

  async run(): Promise<GatewaysResult> {
    const f = this.flags
    const ns = this.args.namespace
    const cloud = this.cloud(f.cloud)
    const timeoutMs = f.timeout
    const deadlineMs = f.deadline
    if (f['resource-group']) {
      const ctx = await this.hybrid()
      const found = await ctx.relay.getNamespace(f['resource-group'], ns)
      if (!found) throw new NotFoundError(`No relay namespace ${ns} in resource group ${f['resource-group']}.`, {code: 'NamespaceNotFound', suggestions: ['Check the name and --resource-group (`hcctl list --namespace NS -g RG`).']})
    }
    const {gateways, formatGatewayList} = await import('../lib/diagnose/gateways.js')
    const result = await gateways({cloud, namespace: ns, stamp: f.stamp, mode: f.probe ? 'probe' : f.resolve ? 'resolve' : 'list', concurrency: f.concurrency, timeoutMs, deadlineMs, signal: this.abort.signal})
    if (!this.jsonEnabled()) {
      this.log(formatGatewayList(result, f.format as 'list' | 'csv' | 'json'))
      this.logToStderr(`${result.host}: stamp ${result.stamp} (${result.stampSource === 'flag' ? '--stamp' : `alias ${result.cnameChain.slice(1).join(' -> ')}`}); ${result.gateways.length} gateway names, or allow ${result.wildcard}`)
      if (result.counts) {
        const c = result.counts
        this.logToStderr(result.mode === 'probe' ? `${c.reachable} reachable, ${c.blocked} blocked, ${c.unknown} unknown${result.deadlineReached ? ' (deadline reached)' : ''}` : `${c.resolved} resolved, ${c.blocked} not resolved`)
        for (const g of result.gateways) if ('status' in g && g.status === 'blocked') this.logToStderr(`blocked: ${g.name} (${g.error})`)
      }
    }
    return result
  }
}
