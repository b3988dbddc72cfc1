import {ArmCommand} from '../../cli/arm-command.js'
import type {HttpMethod} from '../../lib/azure/arm-types.js'

export default class ArmPost extends ArmCommand<typeof ArmPost> {
  static override method: HttpMethod = 'POST'
  static override summary = 'Send a POST (an action such as listKeys) to ARM.'
  static override description =
    'The URL is absolute on the cloud\'s ARM endpoint or a path relative to it; {subscriptionId} is filled from the default subscription. The api-version must be in the URL or given with --api-version. The answer body is printed as JSON (pretty on a terminal, compact with --json); the exit code follows the status (404 → 4, 401/403 → 5, 409/412 → 6, 400 → 2). Idempotent requests are retried on 429/5xx honouring Retry-After.'
  static override examples = [
    '<%= config.bin %> arm post "/subscriptions/{subscriptionId}/resourceGroups/rg-hc/providers/Microsoft.Relay/namespaces/contoso-relay/hybridConnections/db01/authorizationRules/defaultListener/listKeys?api-version=2021-11-01" --query primaryKey',
  ]
}
