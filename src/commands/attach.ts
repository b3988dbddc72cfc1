import {readFile} from 'node:fs/promises'

import {Args, Flags} from '@oclif/core'

import {ProvisioningCommand, dryRunFlag, namespaceFlag, provisioningFlags, relayGroupFlag, strictFlag} from '../cli/provisioning.js'
import {UsageError} from '../lib/errors.js'
import type {AttachResult} from '../lib/hybrid/attach.js'

export default class Attach extends ProvisioningCommand<typeof Attach> {
  static override summary = 'Attach an existing hybrid connection to an app or slot, after checking everything that could make it fail.'
  static override description =
    'Checks before writing: the app exists; its plan (which may sit in another group) has an eligible tier and room under its hybrid connection limit unless this connection is already counted; the hybrid connection requires client authorization and has a valid endpoint metadata item; the Send rule exists (created if missing, unless --no-create-rule); you may list its keys. Then writes the app\'s hybrid connection (host, port, rule, key, namespace, relay id, the cloud\'s Service Bus suffix) and reads it back. --from-file takes the JSON of the product docs\' example (what armclient users PUT).'
  static override examples = [
    '<%= config.bin %> attach onprem-sql --namespace contoso-relay --app contoso-web --resource-group web-rg --relay-resource-group relay-rg',
    '<%= config.bin %> attach onprem-sql --namespace contoso-relay --app contoso-web --slot staging --resource-group web-rg --relay-resource-group relay-rg --json',
    '<%= config.bin %> attach --from-file hc.json --app contoso-web --resource-group web-rg',
  ]

  static override args = {hybridConnection: Args.string({name: 'hc', description: 'Hybrid connection name (or from --from-file).'})}
  static override flags = {
    ...provisioningFlags,
    namespace: {...namespaceFlag, required: false} as typeof namespaceFlag,
    app: Flags.string({description: 'App Service (web or function) app name.', required: true}),
    slot: Flags.string({description: 'Deployment slot (default: production).'}),
    'relay-resource-group': relayGroupFlag,
    'key-name': Flags.string({description: 'The Send rule the app uses (default defaultSender).'}),
    'create-rule': Flags.boolean({description: 'Create the Send rule when it is missing.', default: true, allowNo: true}),
    'from-file': Flags.string({description: 'JSON of the product docs\' example: {name, type, location, properties: {serviceBusNamespace, relayName, relayArmUri, hostName, port, sendKeyName, sendKeyValue}}.'}),
    strict: strictFlag,
    'dry-run': dryRunFlag,
  }

  async run(): Promise<AttachResult> {
    const f = this.flags
    const {attach, parseAttachFile} = await import('../lib/hybrid/attach.js')
    let file: ReturnType<typeof parseAttachFile> = {}
    if (f['from-file']) {
      const text = await readFile(f['from-file'], 'utf8').catch((error: Error) => {
        throw new UsageError(`Cannot read ${f['from-file']}: ${error.message}`, {code: 'InvalidFile'})
      })
      file = parseAttachFile(text, f['from-file'])
    }
    const hybridConnection = this.args.hybridConnection ?? file.hybridConnection
    const namespace = f.namespace ?? file.namespace
    if (!hybridConnection || !namespace) {
      throw new UsageError('Give the hybrid connection name and --namespace (or a --from-file that has them).', {code: 'UsageError', suggestions: ['e.g. hcctl attach onprem-sql --namespace contoso-relay --app contoso-web --resource-group web-rg']})
    }
    const result = await attach(await this.hybrid({dryRun: f['dry-run']}), {
      hybridConnection,
      namespace,
      app: f.app,
      slot: f.slot,
      resourceGroup: f['resource-group'],
      relayResourceGroup: f['relay-resource-group'] ?? file.relayResourceGroup,
      keyName: f['key-name'] ?? file.keyName,
      createRule: f['create-rule'],
      strict: f.strict,
      expectedEndpoint: file.endpoint,
      relaySubscriptionId: file.relaySubscriptionId,
    })
    this.renderOutcome(result, `${result.app.name}${result.app.slot ? `/${result.app.slot}` : ''} → ${result.relay.namespace}/${result.relay.name} (${result.relay.endpoint}); plan ${result.plan.name} ${result.plan.tier}: ${result.plan.current} of ${result.plan.maximum}`)
    return result
  }
}
