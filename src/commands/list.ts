import {Flags} from '@oclif/core'

import {ProvisioningCommand, relayGroupFlag} from '../cli/provisioning.js'
import {azureFlags, resourceGroupFlag} from '../cli/flags.js'
import type {ListResult} from '../lib/hybrid/list.js'
import {renderTable} from '../lib/output/table.js'

export default class List extends ProvisioningCommand<typeof List> {
  static override summary = 'List hybrid connections of an app, a plan, a namespace or the whole subscription, with their status.'
  static override description =
    'One scope: --app (with --resource-group, optionally --slot), --plan, --namespace, or none for the whole subscription. Each row: app (and slot), namespace, hybrid connection, endpoint, status (Connected when the relay reports listeners, with the count) and send key name. The subscription scope reads the plans, each plan\'s hybrid connections and each namespace\'s connections once, in parallel with a bound: it never makes one call per app.'
  static override examples = [
    '<%= config.bin %> list',
    '<%= config.bin %> list --app contoso-web --resource-group web-rg',
    '<%= config.bin %> list --plan contoso-plan --resource-group web-rg --json',
    '<%= config.bin %> list --namespace contoso-relay --resource-group relay-rg --query "rows[?status==\'Not connected\'].hybridConnection"',
  ]

  static override flags = {
    ...azureFlags,
    'resource-group': resourceGroupFlag,
    app: Flags.string({description: 'List the hybrid connections of this app.'}),
    slot: Flags.string({description: 'Deployment slot of --app.', dependsOn: ['app']}),
    plan: Flags.string({description: 'List the hybrid connections of this App Service plan.'}),
    namespace: Flags.string({description: 'List the hybrid connections of this relay namespace and the apps using them.'}),
    'relay-resource-group': relayGroupFlag,
  }

  async run(): Promise<ListResult> {
    const f = this.flags
    const {list} = await import('../lib/hybrid/list.js')
    const result = await list(await this.hybrid(), {
      resourceGroup: f['resource-group'],
      app: f.app,
      slot: f.slot,
      plan: f.plan,
      namespace: f.namespace,
      relayResourceGroup: f['relay-resource-group'],
    })
    if (!this.jsonEnabled()) {
      if (result.rows.length === 0) this.log('No hybrid connections in this scope.')
      else
        this.log(
          renderTable(result.rows, [
            {header: 'App', get: (r) => (r.app ? `${r.app}${r.slot ? `/${r.slot}` : ''}` : '-')},
            {header: 'Namespace', get: (r) => r.namespace},
            {header: 'Hybrid connection', get: (r) => r.hybridConnection},
            {header: 'Endpoint', get: (r) => (r.relayEndpoint ? `${r.endpoint} (relay: ${r.relayEndpoint})` : r.endpoint)},
            {header: 'Status', get: (r) => (r.listenerCount ? `${r.status} (${r.listenerCount})` : r.status)},
            {header: 'Send key', get: (r) => r.sendKeyName},
          ]),
        )
    }
    return result
  }
}
