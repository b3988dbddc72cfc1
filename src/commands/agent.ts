import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {azureFlags, durationFlag, listenAddressFlag, resourceGroupFlag, TOKEN_TTL_MAX_MS} from '../cli/flags.js'
import type {AgentSummary} from '../lib/relay/agent.js'

export type AgentResult = AgentSummary

export default class Agent extends BaseCommand<typeof Agent> {
  static override summary = 'Run the on-premises agent (a cross-platform Hybrid Connection Manager).'
  static override description = `Listens on one or more hybrid connections and, for each sender, connects TCP to the hybrid connection's own endpoint (from its metadata; never one a sender asks for), then pipes bytes. If the endpoint cannot be reached, the sender is refused with 502 and the reason.

Hybrid connections come from --connection-string (repeatable; the Listen "gateway connection string"), HCCTL_AGENT_CONNECTION_STRINGS (one per line or comma-separated), --config agent.yaml, or a name with --namespace and --resource-group (through ARM, using or creating the defaultListener rule).

One log line per connection goes to stderr (text, or JSON with --log-format json). --health serves /healthz and /metrics (Prometheus). SIGINT/SIGTERM stop accepting, let open tunnels finish for up to --drain-timeout, and exit 0.

Exit codes. At start-up, before it listens: 2 for a bad flag or config file, 4 when a hybrid connection or rule does not exist, 5 when the sign-in or the key is refused. Once listening: 0 after SIGINT/SIGTERM, 3 when every hybrid connection has stopped for good (deleted, or the rule lost Listen).

Agent config file (--config; YAML, or JSON with the same keys; every key optional except hybridConnections; flags override it):

  hybridConnections:
    - connectionString: "Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=defaultListener;SharedAccessKey=...;EntityPath=HC"
    - connectionStringEnv: HC2_CONNECTION_STRING    # from an environment variable
    - connectionStringFile: /run/secrets/hc3        # from a file (a mounted Secret)
    - {name: ldap01, namespace: contoso-relay, resourceGroup: onprem-rg}   # through ARM
  health: 127.0.0.1:9090     # /healthz and /metrics
  logFormat: text            # or json
  drainTimeout: 30s
  connectTimeout: 10s
  idleTimeout: 0             # 0 = never
  tokenTtl: 3600             # seconds; renewed at half-life`

  static override examples = [
    '<%= config.bin %> agent --connection-string "Endpoint=sb://contoso-relay.servicebus.windows.net/;SharedAccessKeyName=defaultListener;SharedAccessKey=...;EntityPath=sql01" --health 127.0.0.1:9090',
    '<%= config.bin %> agent --config /etc/hcctl/agent.yaml --log-format json',
    '<%= config.bin %> agent sql01 --namespace contoso-relay --resource-group onprem-rg',
  ]

  static override args = {
    'hybrid-connection': Args.string({description: 'Hybrid connection name (with --namespace and --resource-group, through ARM).', required: false}),
  }

  static override flags = {
    ...azureFlags,
    'resource-group': resourceGroupFlag,
    namespace: Flags.string({description: 'Relay namespace of the named hybrid connection (ARM path).'}),
    'connection-string': Flags.string({description: 'Listen connection string of a hybrid connection (with EntityPath). Repeatable.', multiple: true}),
    config: Flags.string({description: 'agent.yaml with hybridConnections, health, logFormat, drainTimeout, connectTimeout, idleTimeout, tokenTtl.', env: 'HCCTL_AGENT_CONFIG'}),
    health: listenAddressFlag({description: 'Serve /healthz and /metrics on [address:]port (address defaults to 127.0.0.1).', env: 'HCCTL_AGENT_HEALTH'}),
    'log-format': Flags.string({description: 'Log line format on stderr.', options: ['text', 'json'], env: 'HCCTL_LOG_FORMAT'}),
    'drain-timeout': durationFlag({description: 'On SIGINT/SIGTERM, let open tunnels finish for this long (seconds, or 500ms, 2m). Default 30.', minMs: 0}),
    'connect-timeout': durationFlag({description: 'TCP connect timeout to the endpoint (seconds). Default 10.', minMs: 100}),
    'idle-timeout': durationFlag({description: 'Close tunnels with no traffic for this long (seconds; 0 = never). Default 0.', minMs: 0}),
    'endpoint-refresh': durationFlag({description: 'Read each hybrid connection\'s endpoint metadata again this often, and on every reconnect, so `hcctl endpoint set` reaches a running agent (seconds, or 2m; 0 = never). Default 60.', env: 'HCCTL_AGENT_ENDPOINT_REFRESH', minMs: 0}),
    'token-ttl': durationFlag({description: 'Lifetime of the SAS tokens the agent signs (seconds); renewed at half-life. Default 3600.', env: 'HCCTL_RELAY_TOKEN_TTL', minMs: 2000, maxMs: TOKEN_TTL_MAX_MS}),
  }

  async run(): Promise<AgentResult> {
    const {startAgentCommand} = await import('../cli/agent-command.js')
    const {armResolvers} = await import('../lib/hybrid/connection-lookup.js')
    const f = this.flags
    // On a terminal: a one-line live status under the log lines.
    const spinner = await this.spinner()
    const {AgentStatus} = await import('../cli/agent-status.js')
    const status = new AgentStatus()
    if (spinner.live) spinner.update(status.line())
    return startAgentCommand({
      hybridConnection: this.args['hybrid-connection'],
      namespace: f.namespace,
      resourceGroup: f['resource-group'],
      subscription: f.subscription,
      cloud: this.cloud(f.cloud),
      connectionStrings: f['connection-string'],
      envConnectionStrings: process.env.HCCTL_AGENT_CONNECTION_STRINGS,
      configFile: f.config,
      health: f.health,
      logFormat: f['log-format'] as 'text' | 'json' | undefined,
      drainTimeoutMs: f['drain-timeout'],
      connectTimeoutMs: f['connect-timeout'],
      idleTimeoutMs: f['idle-timeout'],
      tokenTtlMs: f['token-ttl'],
      endpointRefreshMs: f['endpoint-refresh'],
      signal: this.abort.signal,
      writeLog: (line) => process.stderr.write(line + '\n'),
      onRecord: spinner.live ? (r) => spinner.update(status.add(r)) : undefined,
      resolveArm: armResolvers(() => this.azure(), this.abort.signal).listener,
    })
  }
}
