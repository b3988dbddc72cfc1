import {Args, Flags} from '@oclif/core'

import {ProvisioningCommand, dryRunFlag, namespaceFlag, provisioningFlags, relayGroupFlag} from '../cli/provisioning.js'
import {UsageError} from '../lib/errors.js'
import type {DisconnectResult} from '../lib/hybrid/disconnect.js'

export default class Disconnect extends ProvisioningCommand<typeof Disconnect> {
  static override summary = 'Disconnect a hybrid connection from an app or slot (and optionally delete it when no other app uses it).'
  static override description =
    'Removes the app\'s hybrid connection resource; when it is already absent that is success ("nothing to do"). --delete-relay also deletes the relay hybrid connection, only when no other app uses it (otherwise exit 6 listing them), after a confirmation on a terminal unless --yes.'
  static override examples = [
    '<%= config.bin %> disconnect onprem-sql --namespace contoso-relay --app contoso-web --resource-group web-rg',
    '<%= config.bin %> disconnect onprem-sql --namespace contoso-relay --app contoso-web --resource-group web-rg --relay-resource-group relay-rg --delete-relay --yes',
  ]

  static override args = {hybridConnection: Args.string({name: 'hc', description: 'Hybrid connection name.', required: true})}
  static override flags = {
    ...provisioningFlags,
    namespace: namespaceFlag,
    app: Flags.string({description: 'App Service (web or function) app name.', required: true}),
    slot: Flags.string({description: 'Deployment slot (default: production).'}),
    'relay-resource-group': relayGroupFlag,
    'delete-relay': Flags.boolean({description: 'Also delete the relay hybrid connection when no other app uses it.'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation.'}),
    'dry-run': dryRunFlag,
  }

  async run(): Promise<DisconnectResult> {
    const f = this.flags
    if (f['delete-relay'] && !f.yes && !f['dry-run'] && !(process.stdin.isTTY && process.stderr.isTTY)) {
      throw new UsageError('--delete-relay asks for confirmation, and there is no terminal to ask on.', {code: 'ConfirmationRequired', suggestions: ['Pass --yes to confirm.']})
    }
    const {disconnect} = await import('../lib/hybrid/disconnect.js')
    const r = await disconnect(await this.hybrid({dryRun: f['dry-run']}), {
      hybridConnection: this.args.hybridConnection,
      namespace: f.namespace,
      app: f.app,
      slot: f.slot,
      resourceGroup: f['resource-group'],
      relayResourceGroup: f['relay-resource-group'],
      deleteRelay: f['delete-relay'],
      ...(f.yes ? {} : {confirm: (q: string) => this.confirm(q)}),
    })
    this.renderOutcome(r, r.nothingToDo ? `${r.app.name}${r.app.slot ? `/${r.app.slot}` : ''} does not use ${r.hybridConnection.namespace}/${r.hybridConnection.name}: nothing to do.` : undefined)
    return r
  }
}
