import {UsageError} from '../errors.js'
import type {AgentHcSource} from './agent-config.js'
import type {AgentHybridConnection} from './agent.js'
import type {HybridConnectionCredentials} from './credentials.js'
import type {Endpoint} from './endpoint-metadata.js'

/**
 * ARM lookups for the agent and the forwarder: the hybrid connection's endpoint (userMetadata)
 * and the keys of its defaultListener / defaultSender rule (created when missing), or an app's
 * own Send key. Needs the ARM client (`createAzureContext`).
 */
export async function resolveAgentFromArm(source: Extract<AgentHcSource, {kind: 'arm'}>): Promise<AgentHybridConnection> {
  throw new UsageError(`${source.origin}: listening by name through ARM is not available in this build; use the hybrid connection's Listen connection string.`, {code: 'ArmUnavailable'})
}

export async function resolveForwardFromArm(input: {hybridConnection?: string; namespace?: string; app?: string; hc?: string}): Promise<{credentials: HybridConnectionCredentials; endpoint?: Endpoint}> {
  throw new UsageError(`Forwarding to ${input.hybridConnection ?? input.hc ?? 'a hybrid connection'} by name through ARM is not available in this build; use --connection-string with its Send connection string.`, {code: 'ArmUnavailable'})
}
