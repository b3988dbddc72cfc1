import {Args, Flags} from '@oclif/core'

import {ProvisioningCommand, dryRunFlag, namespaceFlag, provisioningFlags, strictFlag} from '../../cli/provisioning.js'
import type {EndpointSetResult} from '../../lib/hybrid/endpoint-set.js'

export default class EndpointSet extends ProvisioningCommand<typeof EndpointSet> {
  static override summary = 'Change the endpoint of a hybrid connection in the relay metadata and in every app that uses it, in one verified step.'
  static override description =
    'Writes [{"key":"endpoint","value":"host:port"}] into the relay metadata (other items are kept) and the new host and port into every app and slot that uses the hybrid connection, keeping each app\'s key, then reads everything back. Today\'s documented way is to disconnect, delete, re-create and re-add everywhere. Running hcctl agents read the endpoint again within their --endpoint-refresh interval (default 60 s) and on every reconnect; other agents may need a restart.'
  static override examples = [
    '<%= config.bin %> endpoint set onprem-sql --namespace contoso-relay --resource-group relay-rg --endpoint sql02.corp.local:1433',
    '<%= config.bin %> endpoint set onprem-sql --namespace contoso-relay --resource-group relay-rg --endpoint sql02.corp.local:1433 --dry-run --json',
  ]

  static override args = {hybridConnection: Args.string({name: 'hc', description: 'Hybrid connection name.', required: true})}
  static override flags = {
    ...provisioningFlags,
    namespace: namespaceFlag,
    endpoint: Flags.string({description: 'The new host:port.', required: true}),
    strict: strictFlag,
    'dry-run': dryRunFlag,
  }

  async run(): Promise<EndpointSetResult> {
    const f = this.flags
    const {setEndpoint} = await import('../../lib/hybrid/endpoint-set.js')
    const r = await setEndpoint(await this.hybrid({dryRun: f['dry-run']}), {hybridConnection: this.args.hybridConnection, namespace: f.namespace, resourceGroup: f['resource-group'], endpoint: f.endpoint, strict: f.strict})
    this.renderOutcome(r, `${r.hybridConnection.namespace}/${r.hybridConnection.name}: ${r.previous ?? '(no endpoint)'} → ${r.endpoint}; ${r.apps.length} app${r.apps.length === 1 ? '' : 's'}`)
    if (!this.jsonEnabled() && r.changed && !r.dryRun) this.log(r.agents)
    return r
  }
}
