import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {azureFlags} from '../cli/flags.js'
import type {DecodedTokenResult, TokenCacheClearedResult, TokenResult} from '../lib/azure/token.js'

export default class Token extends BaseCommand<typeof Token> {
  static override summary = 'Print an access token for scripts (or, with --decode, its header, claims and expiry).'
  static override description =
    'Uses the same sign-in as every other command (--access-token, the cloud profile, then DefaultAzureCredential: environment service principal, workload identity, managed identity, Azure CLI). The default scope is the cloud\'s ARM audience + /.default. The token goes to stdout and nowhere else; --decode shows its header, claims and expiry instead of the token. Signed-in tokens are cached across commands until 5 minutes before they expire (HCCTL_CONFIG_DIR or ~/.hcctl/token-cache.json, mode 0600; HCCTL_TOKEN_CACHE=0 turns it off); --clear-cache empties that cache.'
  static override examples = [
    'curl -H "Authorization: Bearer $(<%= config.bin %> token)" "https://management.azure.com/subscriptions?api-version=2022-09-01"',
    '<%= config.bin %> token --decode --query "claims.{oid: oid, tid: tid, expires: exp}"',
    '<%= config.bin %> token --scope https://vault.azure.net/.default --cloud AzureCloud',
    '<%= config.bin %> token --clear-cache',
  ]

  static override flags = {
    cloud: azureFlags.cloud,
    'access-token': azureFlags['access-token'],
    scope: Flags.string({description: 'Scope (or resource URI) to ask for; default: the cloud\'s ARM scope.'}),
    decode: Flags.boolean({description: 'Print the token\'s header, claims and expiry instead of the token.'}),
    'clear-cache': Flags.boolean({description: 'Empty the token cache (every cached token, every cloud) and print no token.', exclusive: ['decode', 'scope']}),
  }

  async run(): Promise<TokenResult | DecodedTokenResult | TokenCacheClearedResult> {
    const {getAccessToken, decodeAccessToken, clearTokenCache} = await import('../lib/azure/token.js')
    if (this.flags['clear-cache']) {
      const cleared = clearTokenCache()
      if (!this.jsonEnabled()) process.stderr.write(`Removed ${cleared.removed} cached token${cleared.removed === 1 ? '' : 's'} (${cleared.path}).\n`)
      return cleared
    }
    const result = await getAccessToken(await this.azure(this.flags), this.flags.scope)
    if (this.flags.decode) {
      const decoded = decodeAccessToken(result)
      if (!this.jsonEnabled()) {
        this.log(JSON.stringify({header: decoded.header, claims: decoded.claims}, null, 2))
        if (decoded.expiresOn) process.stderr.write(`expires ${decoded.expiresOn} (in ${Math.round((decoded.expiresInSeconds ?? 0) / 60)} min)\n`)
      }
      return decoded
    }
    if (!this.jsonEnabled()) this.log(result.accessToken)
    return result
  }
}
