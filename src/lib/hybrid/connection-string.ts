import {DEFAULT_LISTENER} from './attach.js'
import type {HybridContext} from './context.js'
import {validateHybridConnectionName, validateNamespaceName, validateResourceGroupName, validateRuleName} from './naming.js'
import {gatewayConnectionString, getRelayOrThrow} from './show.js'

export interface ConnectionStringInput {
  hybridConnection: string
  namespace: string
  resourceGroup: string
  /** The Listen rule (default defaultListener). */
  rule?: string
  secondary?: boolean
}

/** The gateway connection string an agent needs (a secret the caller asked for). */
export async function connectionString(ctx: HybridContext, input: ConnectionStringInput): Promise<{connectionString: string}> {
  validateHybridConnectionName(input.hybridConnection)
  validateNamespaceName(input.namespace)
  validateResourceGroupName(input.resourceGroup)
  const rule = validateRuleName(input.rule ?? DEFAULT_LISTENER, '--rule')
  const hc = await getRelayOrThrow(ctx, input.resourceGroup, input.namespace, input.hybridConnection)
  const existing = await ctx.relay.getRule(input.resourceGroup, input.namespace, hc.name || input.hybridConnection, rule)
  if (existing && !existing.rights.includes('Listen') && !existing.rights.includes('Manage')) {
    ctx.warn?.(`The rule ${rule} has ${existing.rights.join(', ') || 'no rights'} but not Listen: an agent cannot listen with this connection string (the relay answers 401). Use --rule defaultListener for an agent.`)
  }
  return {connectionString: await gatewayConnectionString(ctx, input.resourceGroup, input.namespace, hc.name || input.hybridConnection, rule, input.secondary ? 'secondary' : 'primary')}
}
