import {Flags} from '@oclif/core'

import {ProvisioningCommand, provisioningFlags} from '../../cli/provisioning.js'
import type {PlanLimitsResult} from '../../lib/hybrid/plan-limits.js'
import {renderTable} from '../../lib/output/table.js'

export default class PlanLimits extends ProvisioningCommand<typeof PlanLimits> {
  static override summary = 'Show an App Service plan\'s hybrid connection tier, usage and limit, and which connections count.'
  static override description =
    'Tier, current and maximum (Basic 5 and Standard 25 per plan; Premium and Isolated 220 per app; Free, Shared and Consumption none), and the hybrid connections that count with the apps using each (one used by several apps counts once). Give --plan, or --app to use that app\'s plan.'
  static override examples = [
    '<%= config.bin %> plan limits --plan contoso-plan --resource-group web-rg',
    '<%= config.bin %> plan limits --app contoso-web --resource-group web-rg --json',
  ]

  static override flags = {
    ...provisioningFlags,
    plan: Flags.string({description: 'App Service plan name.', exactlyOne: ['plan', 'app']}),
    app: Flags.string({description: 'An app whose plan to show.', exactlyOne: ['plan', 'app']}),
    slot: Flags.string({description: 'Deployment slot of --app.', dependsOn: ['app']}),
  }

  async run(): Promise<PlanLimitsResult> {
    const f = this.flags
    const {planLimits} = await import('../../lib/hybrid/plan-limits.js')
    const r = await planLimits(await this.hybrid(), {resourceGroup: f['resource-group'], plan: f.plan, app: f.app, slot: f.slot})
    if (!this.jsonEnabled()) {
      this.log(`Plan ${r.plan} (${r.resourceGroup}): ${r.tier}${r.sku ? ` ${r.sku}` : ''}`)
      if (!r.eligible) this.log(`  ${r.reason}`)
      else this.log(`  ${r.current} of ${r.maximum} hybrid connections${r.scope === 'app' ? ' (the limit is per app)' : ''}`)
      if (r.hybridConnections.length > 0) {
        this.log(
          renderTable(r.hybridConnections, [
            {header: 'Namespace', get: (h) => h.namespace},
            {header: 'Hybrid connection', get: (h) => h.name},
            {header: 'Endpoint', get: (h) => h.endpoint},
            {header: 'Apps', get: (h) => h.apps.map((a) => `${a.app}${a.slot ? `/${a.slot}` : ''}`).join(', ')},
          ]),
        )
      }
    }
    return r
  }
}
