import {Args, Flags} from '@oclif/core'

import {ProvisioningCommand} from '../../cli/provisioning.js'
import {azureFlags, durationFlag, sizeFlag} from '../../cli/flags.js'
import type {RelayTestRun} from '../../lib/diagnose/relay-test-setup.js'
import {ExitCode, UsageError} from '../../lib/errors.js'

export default class RelayTest extends ProvisioningCommand<typeof RelayTest> {
  static override failedResultExitCode = ExitCode.CheckFailed
  static override summary = 'Measure the relay path from this machine: connect time, round trips, loss and throughput.'
  static override description =
    'hcctl opens a listener and a sender of its own on the hybrid connection, independently of any agent: it times the connects, echoes --count messages of --size bytes (round trip min/avg/p50/p99/max, loss), then echoes a bulk transfer (throughput, checked with SHA-256). Its connections carry a connect header, so those the relay hands to an agent already listening are left out of the numbers (with a warning); --scratch runs on a temporary hybrid connection that it creates and deletes. Exit 0 when nothing was lost, 3 otherwise.'
  static override examples = [
    '<%= config.bin %> relay test onprem-sql --namespace contoso-relay --resource-group relay-rg',
    '<%= config.bin %> relay test --scratch --namespace contoso-relay --resource-group relay-rg --count 100 --size 4096 --json',
    '<%= config.bin %> relay test --connection-string "$LISTEN_CS" --connection-string "$SEND_CS"',
  ]

  static override args = {hybridConnection: Args.string({name: 'hc', description: 'Hybrid connection to test (not with --scratch).'})}
  static override flags = {
    ...azureFlags,
    namespace: Flags.string({description: 'Relay namespace.', env: 'HCCTL_NAMESPACE'}),
    'resource-group': Flags.string({char: 'g', description: 'Resource group of the relay namespace.', env: 'HCCTL_RESOURCE_GROUP'}),
    'connection-string': Flags.string({description: 'A connection string with Listen and Send, or give two (Listen and Send). Needs no ARM access.', multiple: true, exclusive: ['scratch']}),
    scratch: Flags.boolean({description: 'Test on a temporary hybrid connection, created and deleted by the run (no agent can interfere).'}),
    count: Flags.integer({description: 'Messages to echo.', default: 20, min: 1, max: 100_000}),
    size: sizeFlag({description: 'Bytes per message.', default: 1024, min: 4, max: 1_048_576}),
    bulk: sizeFlag({description: 'Bytes of the bulk transfer (0 to skip).', default: 4 * 1_048_576, min: 0, max: 1_073_741_824}),
    connections: Flags.integer({description: 'Sender connections to open (each connect is timed).', default: 3, min: 1, max: 100}),
    timeout: durationFlag({description: 'Timeout of each connect (with its retries) and each echo.', default: 10_000, defaultHelp: async () => '10s', minMs: 1}),
  }

  async run(): Promise<RelayTestRun> {
    const f = this.flags
    const cs = f['connection-string']
    if (!cs?.length && !(f.namespace && f['resource-group'])) {
      throw new UsageError('Say what to test: a hybrid connection with --namespace and --resource-group, --scratch with them, or --connection-string.', {code: 'NothingToTest'})
    }
    if (f.scratch && this.args.hybridConnection) throw new UsageError('--scratch creates its own hybrid connection; leave out the name.', {code: 'ScratchWithName'})
    const logger = this.logger()
    const spinner = await this.spinner()
    const [{runRelayTest}, {formatRelayTestEvent, renderRelayTest}] = await Promise.all([
      import('../../lib/diagnose/relay-test-setup.js'),
      import('../../lib/diagnose/relay-test-render.js'),
    ])
    const rtts: number[] = []
    const ctx = cs?.length ? undefined : await this.hybrid()
    const cleanup = f.scratch ? await this.hybrid({cleanup: true}) : undefined
    const result = await runRelayTest({
      cloud: this.cloud(f.cloud),
      connectionStrings: cs,
      arm: ctx ? {relay: ctx.relay, resourceGroup: f['resource-group']!, namespace: f.namespace!, name: this.args.hybridConnection, scratch: f.scratch, cleanupRelay: cleanup?.relay} : undefined,
      onCleanedUp: (what) => this.noteDone(what),
      count: f.count,
      size: f.size,
      bulkBytes: f.bulk,
      connections: f.connections,
      timeoutMs: f.timeout,
      signal: this.abort.signal,
      progress: this.progress(),
      onResult: (e) => {
        if (e.kind === 'echo') {
          if (e.rttMs !== undefined) rtts.push(e.rttMs)
          spinner.update(`echo ${e.seq}/${e.count}: ${e.rttMs === undefined ? 'lost' : `${e.rttMs} ms`}`)
          return
        }
        const line = formatRelayTestEvent(e)
        if (line && spinner.live) spinner.print(line)
      },
    })
    spinner.stop()
    for (const w of result.warnings) logger.warn(w)
    this.stopIfInterrupted()
    if (!this.jsonEnabled()) this.log(renderRelayTest(result, {rttSamplesMs: rtts, glyphs: this.glyphs}))
    return result
  }
}
