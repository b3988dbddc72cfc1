import {Args, Flags} from '@oclif/core'

import {ProvisioningCommand, namespaceFlag, provisioningFlags} from '../cli/provisioning.js'

export default class ConnectionString extends ProvisioningCommand<typeof ConnectionString> {
  static override summary = 'Print the gateway connection string an agent needs (a secret: only the string goes to stdout).'
  static override description =
    'Reads the keys of the Listen rule (default defaultListener) and prints Endpoint=sb://NS.../;SharedAccessKeyName=...;SharedAccessKey=...;EntityPath=HC, the string `hcm add` and `hcctl agent` take. Nothing else is printed with it. Needs the listKeys permission on the hybrid connection (Reader is not enough: exit 5).'
  static override examples = [
    '<%= config.bin %> connection-string onprem-sql --namespace contoso-relay --resource-group relay-rg',
    'HCCTL_CONNECTION_STRING="$(<%= config.bin %> connection-string onprem-sql --namespace contoso-relay --resource-group relay-rg)" <%= config.bin %> agent',
  ]

  static override args = {hybridConnection: Args.string({name: 'hc', description: 'Hybrid connection name.', required: true})}
  static override flags = {
    ...provisioningFlags,
    namespace: namespaceFlag,
    rule: Flags.string({description: 'The Listen rule.', default: 'defaultListener'}),
    secondary: Flags.boolean({description: 'Use the secondary key.'}),
  }

  async run(): Promise<{connectionString: string}> {
    const f = this.flags
    const {connectionString} = await import('../lib/hybrid/connection-string.js')
    const r = await connectionString(await this.hybrid(), {hybridConnection: this.args.hybridConnection, namespace: f.namespace, resourceGroup: f['resource-group'], rule: f.rule, secondary: f.secondary})
    if (!this.jsonEnabled()) process.stdout.write(r.connectionString + '\n')
    return r
  }
}
