import {Flags} from '@oclif/core'

import {ProvisioningCommand, slotFlag} from '../cli/provisioning.js'
import {azureFlags} from '../cli/flags.js'
import type {ExportFormat, ExportResult} from '../lib/hybrid/export/index.js'
import {UsageError} from '../lib/errors.js'

export default class Export extends ProvisioningCommand<typeof Export> {
  static override summary = 'Write what is attached to an app today as an ARM, Bicep or Terraform template that recreates it.'
  static override description =
    'Reads the app\'s hybrid connections and writes, in dependency order: each Relay namespace, hybrid connection (userMetadata correctly encoded as a JSON string), its rules, and the app\'s hybridConnectionNamespaces/relays resource with sendKeyValue taken from listKeys() at deployment (never a literal key). The app itself is not part of the template. Relays in another resource group are left out with a warning. --output writes a file (whole or not at all); otherwise the template goes to stdout.'
  static override examples = [
    '<%= config.bin %> export --app contoso-web --resource-group web-rg --format bicep > hybrid.bicep',
    '<%= config.bin %> export --app contoso-web --resource-group web-rg --format arm --output hybrid.json',
    '<%= config.bin %> export --app contoso-web --slot staging --resource-group web-rg --format terraform --output hybrid.tf --json',
  ]

  static override flags = {
    ...azureFlags,
    'resource-group': Flags.string({char: 'g', description: 'Resource group of the app (and of the relays it exports).', env: 'HCCTL_RESOURCE_GROUP', required: true}),
    app: Flags.string({description: 'App Service (web or function) app name.', required: true}),
    slot: slotFlag,
    format: Flags.string({description: 'Template language.', options: ['arm', 'bicep', 'terraform'], default: 'arm'}),
    output: Flags.string({char: 'o', description: 'Write the template to this file instead of stdout.'}),
  }

  async run(): Promise<ExportResult> {
    const f = this.flags
    const {exportApp} = await import('../lib/hybrid/export/index.js')
    const result = await exportApp(await this.hybrid(), {app: {resourceGroup: f['resource-group'], app: f.app, ...(f.slot ? {slot: f.slot} : {})}, format: f.format as ExportFormat})
    if (f.output) {
      const {writeFileAtomic} = await import('../lib/hybrid/export/write.js')
      try {
        await writeFileAtomic(f.output, result.template)
      } catch (error) {
        throw new UsageError(`Cannot write ${f.output}: ${(error as Error).message}`, {code: 'OutputNotWritable', suggestions: ['Check the directory exists and is writable.']})
      }
      result.file = f.output
      if (!this.jsonEnabled()) this.logToStderr(`Wrote ${result.resources.length} resources to ${f.output} (${f.format}).`)
    } else if (!this.jsonEnabled()) {
      process.stdout.write(result.template)
    }
    return result
  }
}
