import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {azureFlags, durationFlag, listenAddressFlag, resourceGroupFlag, TOKEN_TTL_MAX_MS} from '../cli/flags.js'
import type {ForwardSummary} from '../lib/relay/forward.js'

export type ForwardResult = ForwardSummary

export default class Forward extends BaseCommand<typeof Forward> {
  static override summary = 'Forward a local TCP port to a hybrid connection\'s endpoint through the relay, as an app would.'
  static override description = `Each local connection becomes one relay sender; the agent on the other side connects it to the hybrid connection's endpoint. Prints one ready line with the local address on stdout, then one log line per connection on stderr. A relay failure (no agent, endpoint down: the agent's status and reason are shown) closes only that connection; the forwarder keeps running until SIGINT/SIGTERM.

--local defaults to 127.0.0.1 and the endpoint's port, or a free port when that is taken.`

  static override examples = [
    '<%= config.bin %> forward --connection-string "Endpoint=sb://contoso-relay.servicebus.windows.net/;SharedAccessKeyName=defaultSender;SharedAccessKey=...;EntityPath=sql01" --local 127.0.0.1:1433',
    '<%= config.bin %> forward sql01 --namespace contoso-relay --resource-group onprem-rg --local 15432',
    '<%= config.bin %> forward --app contoso-web --resource-group web-rg --hc sql01',
  ]

  static override args = {
    'hybrid-connection': Args.string({description: 'Hybrid connection name (with --namespace and --resource-group; uses the defaultSender rule).', required: false}),
  }

  static override flags = {
    ...azureFlags,
    'resource-group': resourceGroupFlag,
    namespace: Flags.string({description: 'Relay namespace of the named hybrid connection.'}),
    app: Flags.string({description: 'Use the Send key an App Service app holds for --hc.'}),
    hc: Flags.string({description: 'Hybrid connection name, with --app.'}),
    slot: Flags.string({description: 'Deployment slot of --app.'}),
    'connection-string': Flags.string({description: 'Send connection string of the hybrid connection (with EntityPath).', env: 'HCCTL_FORWARD_CONNECTION_STRING'}),
    local: listenAddressFlag({description: 'Local [address:]port to listen on (default 127.0.0.1 and the endpoint\'s port).'}),
    'log-format': Flags.string({description: 'Log line format on stderr.', options: ['text', 'json'], env: 'HCCTL_LOG_FORMAT'}),
    'connect-timeout': durationFlag({description: 'How long a connection may wait for the relay and the agent (seconds). Default 30.', minMs: 100}),
    'idle-timeout': durationFlag({description: 'Close connections with no traffic for this long (seconds; 0 = never).', minMs: 0}),
    'token-ttl': durationFlag({description: 'Lifetime of the SAS tokens signed per connection (seconds). Default 3600.', env: 'HCCTL_RELAY_TOKEN_TTL', minMs: 2000, maxMs: TOKEN_TTL_MAX_MS}),
  }

  async run(): Promise<ForwardResult> {
    const {startForwardCommand} = await import('../cli/forward-command.js')
    const {armResolvers} = await import('../lib/hybrid/connection-lookup.js')
    const f = this.flags
    return startForwardCommand({
      cloud: this.cloud(f.cloud),
      connectionString: f['connection-string'],
      hybridConnection: this.args['hybrid-connection'],
      namespace: f.namespace,
      resourceGroup: f['resource-group'],
      app: f.app,
      hc: f.hc,
      slot: f.slot,
      subscription: f.subscription,
      local: f.local,
      logFormat: f['log-format'] as 'text' | 'json' | undefined,
      connectTimeoutMs: f['connect-timeout'],
      idleTimeoutMs: f['idle-timeout'],
      tokenTtlMs: f['token-ttl'],
      signal: this.abort.signal,
      writeLog: (line) => process.stderr.write(line + '\n'),
      resolveArm: armResolvers(() => this.azure(), this.abort.signal),
      onReady: (r) => {
        const line = `Forwarding ${r.local} → ${r.hc}${r.endpoint ? ` (endpoint ${r.endpoint})` : ''}`
        if (this.jsonEnabled()) process.stderr.write(JSON.stringify({event: 'ready', ...r}) + '\n')
        else this.log(line)
      },
    })
  }
}
