import type {CloudProfile} from '../lib/azure/clouds.js'
import {UsageError} from '../lib/errors.js'
import type {AgentHcSource} from '../lib/relay/agent-config.js'
import type {AgentHybridConnection} from '../lib/relay/agent.js'
import {credentialsFromConnectionString} from '../lib/relay/credentials.js'

/**
 * Turns the agent's configured sources into listener inputs. Connection strings are resolved
 * here; ARM entries go through `resolveArm` (the command supplies it, since it needs an ARM
 * context), which returns the credentials of the `defaultListener` rule and the endpoint.
 */
export async function resolveAgentSources(
  sources: AgentHcSource[],
  options: {cloud?: CloudProfile; resolveArm?: (source: Extract<AgentHcSource, {kind: 'arm'}>) => Promise<AgentHybridConnection>},
): Promise<AgentHybridConnection[]> {
  const out: AgentHybridConnection[] = []
  for (const s of sources) {
    if (s.kind === 'connectionString') {
      out.push({credentials: credentialsFromConnectionString(s.connectionString, {cloud: options.cloud})})
    } else {
      if (!options.resolveArm) throw new UsageError(`${s.origin}: hybrid connections by name need ARM, which is not available here.`, {code: 'ArmUnavailable'})
      out.push(await options.resolveArm(s))
    }
  }
  return out
}
