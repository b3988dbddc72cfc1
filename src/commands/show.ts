import {Args, Flags} from '@oclif/core'

import {ProvisioningCommand, namespaceFlag, provisioningFlags} from '../cli/provisioning.js'
import type {ShowResult} from '../lib/hybrid/show.js'

export default class Show extends ProvisioningCommand<typeof Show> {
  static override summary = 'Show a hybrid connection: its relay side, every app and slot using it per plan, and any drift.'
  static override description =
    'The relay side (metadata, endpoint, rules and their rights, listener count, created and updated times), every app and slot that uses it grouped by plan, and any app whose host:port differs from the relay\'s endpoint. --show-secrets adds the gateway connection string an agent needs.'
  static override examples = [
    '<%= config.bin %> show onprem-sql --namespace contoso-relay --resource-group relay-rg',
    '<%= config.bin %> show onprem-sql --namespace contoso-relay --resource-group relay-rg --show-secrets --json',
  ]

  static override args = {hybridConnection: Args.string({name: 'hc', description: 'Hybrid connection name.', required: true})}
  static override flags = {
    ...provisioningFlags,
    namespace: namespaceFlag,
    'show-secrets': Flags.boolean({description: 'Add the gateway (listener) connection string, a secret.'}),
    rule: Flags.string({description: 'The Listen rule for the connection string.', default: 'defaultListener'}),
  }

  async run(): Promise<ShowResult> {
    const f = this.flags
    const {show} = await import('../lib/hybrid/show.js')
    const r = await show(await this.hybrid(), {hybridConnection: this.args.hybridConnection, namespace: f.namespace, resourceGroup: f['resource-group'], showSecrets: f['show-secrets'], rule: f.rule})
    if (!this.jsonEnabled()) {
      const c = this.color
      this.log(c.bold(`${r.relay.namespace}/${r.relay.name}`) + ` (${r.relay.resourceGroup})`)
      this.log(`  endpoint        ${r.relay.endpoint ?? c.red(`none: ${r.relay.metadataProblem}`)}`)
      this.log(`  status          ${r.relay.status} (${r.relay.listenerCount} listener${r.relay.listenerCount === 1 ? '' : 's'})`)
      this.log(`  client auth     ${r.relay.requiresClientAuthorization ? 'required' : c.red('not required (App Service cannot use it)')}`)
      if (r.relay.createdAt) this.log(`  created         ${r.relay.createdAt}`)
      if (r.relay.updatedAt) this.log(`  updated         ${r.relay.updatedAt}`)
      this.log(`  rules           ${r.rules.map((x) => `${x.name} [${x.rights.join(', ')}]`).join('; ') || 'none'}`)
      if (r.plans.length === 0) this.log('  apps            none')
      for (const p of r.plans) {
        this.log(`  plan ${p.plan} (${p.resourceGroup}${p.tier ? `, ${p.tier}` : ''})`)
        for (const a of p.apps) this.log(`    ${a.app}${a.slot ? `/${a.slot}` : ''}  ${a.endpoint ?? ''}  ${a.sendKeyName ?? ''}${a.drift ? c.yellow('  drift: differs from the relay endpoint') : ''}`)
      }
      if (r.drift.length > 0) this.log(c.yellow(`  Fix the drift with \`hcctl endpoint set ${r.relay.name} --namespace ${r.relay.namespace} --resource-group ${r.relay.resourceGroup} --endpoint ${r.relay.endpoint ?? 'HOST:PORT'}\`.`))
      if (r.gatewayConnectionString) this.log(`  gateway connection string\n    ${r.gatewayConnectionString}`)
    }
    return r
  }
}
