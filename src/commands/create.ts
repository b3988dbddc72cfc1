import {Args, Flags} from '@oclif/core'

import {ProvisioningCommand, appFlag, appGroupFlag, dryRunFlag, namespaceFlag, provisioningFlags, strictFlag} from '../cli/provisioning.js'
import type {CreateResult} from '../lib/hybrid/create.js'

export default class Create extends ProvisioningCommand<typeof Create> {
  static override summary = 'Create a hybrid connection (namespace, endpoint metadata, Listen and Send rules) and optionally attach it to an app.'
  static override description =
    'Ensures, in order: the relay namespace (only with --create-namespace), the hybrid connection with client authorization and the endpoint metadata App Service reads ([{"key":"endpoint","value":"host:port"}]), a defaultListener (Listen) rule for the agent and a defaultSender (Send) rule for apps. With --app it then attaches it, as `hcctl attach` does. Re-running with the same input changes nothing. An existing hybrid connection with another endpoint is a conflict (exit 6): change it with `hcctl endpoint set`.'
  static override examples = [
    '<%= config.bin %> create onprem-sql --namespace contoso-relay --resource-group relay-rg --endpoint sql01.corp.local:1433',
    '<%= config.bin %> create onprem-sql --namespace contoso-relay --resource-group relay-rg --endpoint sql01.corp.local:1433 --create-namespace --location westeurope --app contoso-web --app-resource-group web-rg',
    '<%= config.bin %> create onprem-sql --namespace contoso-relay --resource-group relay-rg --endpoint sql01.corp.local:1433 --dry-run --json',
  ]

  static override args = {hybridConnection: Args.string({name: 'hc', description: 'Hybrid connection name.', required: true})}
  static override flags = {
    ...provisioningFlags,
    namespace: namespaceFlag,
    endpoint: Flags.string({description: 'host:port the agent connects to (a DNS name; App Service redirects by name).', required: true}),
    'create-namespace': Flags.boolean({description: 'Create the namespace when it does not exist (waits for it).'}),
    location: Flags.string({description: 'Location of a new namespace (default: the resource group\'s).'}),
    app: appFlag,
    'app-resource-group': appGroupFlag,
    slot: Flags.string({description: 'Deployment slot of --app.', dependsOn: ['app']}),
    'key-name': Flags.string({description: 'Name of the Send rule apps use.', default: 'defaultSender'}),
    strict: strictFlag,
    'dry-run': dryRunFlag,
  }

  async run(): Promise<CreateResult> {
    const f = this.flags
    const {create} = await import('../lib/hybrid/create.js')
    const result = await create(await this.hybrid({dryRun: f['dry-run']}), {
      hybridConnection: this.args.hybridConnection,
      namespace: f.namespace,
      resourceGroup: f['resource-group'],
      endpoint: f.endpoint,
      createNamespace: f['create-namespace'],
      location: f.location,
      strict: f.strict,
      app: f.app,
      appResourceGroup: f['app-resource-group'],
      slot: f.slot,
      keyName: f['key-name'],
    })
    this.renderOutcome(result, `Hybrid connection ${result.namespace.name}/${result.hybridConnection.name} → ${result.hybridConnection.endpoint}`)
    return result
  }
}
