import {ArmCommand} from '../../cli/arm-command.js'
import type {HttpMethod} from '../../lib/azure/arm-types.js'

export default class ArmDelete extends ArmCommand<typeof ArmDelete> {
  static override method: HttpMethod = 'DELETE'
  static override summary = 'Send a DELETE to ARM (--wait follows the long-running operation).'
  static override description =
    'The URL is absolute on the cloud\'s ARM endpoint or a path relative to it; {subscriptionId} is filled from the default subscription. The api-version must be in the URL or given with --api-version. The answer body is printed as JSON (pretty on a terminal, compact with --json); the exit code follows the status (404 → 4, 401/403 → 5, 409/412 → 6, 400 → 2). Idempotent requests are retried on 429/5xx honouring Retry-After.'
  static override examples = [
    '<%= config.bin %> arm delete "/subscriptions/{subscriptionId}/resourceGroups/rg-hc?api-version=2022-09-01" --wait',
  ]
}
