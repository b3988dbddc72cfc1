import {Args, Flags} from '@oclif/core'

import {ProvisioningCommand, dryRunFlag, namespaceFlag, provisioningFlags} from '../../cli/provisioning.js'
import type {RotateResult} from '../../lib/hybrid/rotate.js'

export default class KeysRotate extends ProvisioningCommand<typeof KeysRotate> {
  static override summary = 'Rotate both keys of a Send rule without breaking any app that uses the hybrid connection.'
  static override description =
    'The safe order, verified at each step: point every app and slot using the hybrid connection (all plans) at the secondary key, regenerate the primary, point them at the new primary, regenerate the secondary; then verify every app holds the rule\'s current primary. It stops at the first failure with the exact state and how to resume (re-running is safe). --dry-run shows the plan.'
  static override examples = [
    '<%= config.bin %> keys rotate onprem-sql --namespace contoso-relay --resource-group relay-rg',
    '<%= config.bin %> keys rotate onprem-sql --namespace contoso-relay --resource-group relay-rg --key-name defaultSender --dry-run',
  ]

  static override args = {hybridConnection: Args.string({name: 'hc', description: 'Hybrid connection name.', required: true})}
  static override flags = {
    ...provisioningFlags,
    namespace: namespaceFlag,
    'key-name': Flags.string({description: 'The Send rule to rotate.', default: 'defaultSender'}),
    'dry-run': dryRunFlag,
  }

  async run(): Promise<RotateResult> {
    const f = this.flags
    const {rotateKeys} = await import('../../lib/hybrid/rotate.js')
    const r = await rotateKeys(await this.hybrid({dryRun: f['dry-run']}), {hybridConnection: this.args.hybridConnection, namespace: f.namespace, resourceGroup: f['resource-group'], keyName: f['key-name']})
    this.renderOutcome(r, `Keys of ${r.keyName} on ${r.hybridConnection.namespace}/${r.hybridConnection.name}: ${r.apps.length} app${r.apps.length === 1 ? '' : 's'}${r.dryRun ? '' : ` verified on the new primary key: ${r.apps.filter((a) => a.verified === true).length}`}`)
    if (!this.jsonEnabled() && r.skipped.length > 0) this.log(`Left alone (they use another rule): ${r.skipped.map((s) => `${s.app}${s.slot ? `/${s.slot}` : ''} (${s.sendKeyName})`).join(', ')}`)
    return r
  }
}
