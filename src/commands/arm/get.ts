import {Flags} from '@oclif/core'

import {ArmCommand} from '../../cli/arm-command.js'
import type {HttpMethod} from '../../lib/azure/arm-types.js'

export default class ArmGet extends ArmCommand<typeof ArmGet> {
  static override method: HttpMethod = 'GET'
  static override summary = 'Send a GET to ARM and print the JSON answer.'
  static override description =
    'The URL is absolute on the cloud\'s ARM endpoint or a path relative to it; {subscriptionId} is filled from the default subscription. The api-version must be in the URL or given with --api-version. The answer body is printed as JSON (pretty on a terminal, compact with --json); the exit code follows the status (404 → 4, 401/403 → 5, 409/412 → 6, 400 → 2). Idempotent requests are retried on 429/5xx honouring Retry-After.'
  static override flags = {
    ...ArmCommand.flags,
    all: Flags.boolean({description: 'Follow every nextLink and print one {"value": [...]} with all items.'}),
  }

  static override examples = [
    '<%= config.bin %> arm get "/subscriptions/{subscriptionId}/resourceGroups?api-version=2022-09-01" --query "value[].name"',
    '<%= config.bin %> arm get /subscriptions/{subscriptionId}/providers/Microsoft.Relay/namespaces --api-version 2021-11-01 --include',
    '<%= config.bin %> arm get "/subscriptions/{subscriptionId}/providers/Microsoft.Web/sites?api-version=2025-05-01" --all --query "value[].name"',
  ]
}
