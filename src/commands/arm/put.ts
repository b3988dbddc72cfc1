import {ArmCommand} from '../../cli/arm-command.js'
import type {HttpMethod} from '../../lib/azure/arm-types.js'

export default class ArmPut extends ArmCommand<typeof ArmPut> {
  static override method: HttpMethod = 'PUT'
  static override summary = 'Send a PUT (create or replace) to ARM with a JSON body.'
  static override description =
    'The URL is absolute on the cloud\'s ARM endpoint or a path relative to it; {subscriptionId} is filled from the default subscription. The api-version must be in the URL or given with --api-version. The answer body is printed as JSON (pretty on a terminal, compact with --json); the exit code follows the status (404 → 4, 401/403 → 5, 409/412 → 6, 400 → 2). Idempotent requests are retried on 429/5xx honouring Retry-After.'
  static override examples = [
    '<%= config.bin %> arm put "/subscriptions/{subscriptionId}/resourceGroups/rg-hc?api-version=2022-09-01" \'{"location": "westeurope"}\'',
    '<%= config.bin %> arm put "/subscriptions/{subscriptionId}/resourceGroups/rg-hc/providers/Microsoft.Relay/namespaces/contoso-relay?api-version=2021-11-01" @namespace.json --wait',
  ]
}
