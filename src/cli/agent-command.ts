import type {CloudProfile} from '../lib/azure/clouds.js'
import {UsageError} from '../lib/errors.js'
import {type AgentHybridConnection, type AgentSummary, runAgent} from '../lib/relay/agent.js'
import {type AgentHcSource, loadAgentConfig} from '../lib/relay/agent-config.js'
import {formatLogRecord, type LogFormat, type RelayLogRecord} from '../lib/relay/log.js'
import {transportFromCloud} from '../lib/relay/transport.js'
import {resolveAgentSources} from './agent-sources.js'
import {type ListenAddress, parseListenAddress} from './flags.js'

/**
 * The glue of `hcctl agent`: merge the typed flags with agent.yaml (flags win), resolve each
 * hybrid connection (connection string or ARM), refuse the same hybrid connection twice, run
 * the agent until the signal, and return its summary. Durations are milliseconds here.
 */
export interface AgentCommandInput {
  hybridConnection?: string
  namespace?: string
  resourceGroup?: string
  subscription?: string
  cloud: CloudProfile
  connectionStrings?: string[]
  envConnectionStrings?: string
  configFile?: string
  health?: ListenAddress
  logFormat?: LogFormat
  drainTimeoutMs?: number
  connectTimeoutMs?: number
  idleTimeoutMs?: number
  tokenTtlMs?: number
  endpointRefreshMs?: number
  signal: AbortSignal
  writeLog: (line: string) => void
  /** Each log record as it happens (the command's live status line). */
  onRecord?: (record: RelayLogRecord) => void
  /** Resolves ARM entries (supplied when an ARM context is available). */
  resolveArm?: (source: Extract<AgentHcSource, {kind: 'arm'}>) => Promise<AgentHybridConnection>
}

export async function startAgentCommand(input: AgentCommandInput): Promise<AgentSummary> {
  const armArg: AgentHcSource[] = []
  if (input.hybridConnection) {
    if (!input.namespace) {
      throw new UsageError(`The hybrid connection "${input.hybridConnection}" needs --namespace (and --resource-group).`, {code: 'MissingNamespace'})
    }
    armArg.push({kind: 'arm', name: input.hybridConnection, namespace: input.namespace, resourceGroup: input.resourceGroup, subscription: input.subscription, origin: `the argument ${input.hybridConnection}`})
  } else if (input.namespace) {
    throw new UsageError('--namespace needs a hybrid connection name as the argument.', {code: 'MissingHybridConnection'})
  }
  const config =
    armArg.length > 0 && !input.connectionStrings?.length && !input.configFile && !input.envConnectionStrings
      ? {hybridConnections: armArg}
      : await loadAgentConfig({connectionStrings: input.connectionStrings, envConnectionStrings: input.envConnectionStrings, configFile: input.configFile}).then((c) => ({
          ...c,
          hybridConnections: [...c.hybridConnections, ...armArg],
        }))
  const file = config as {health?: string; logFormat?: LogFormat; drainTimeoutSeconds?: number; connectTimeoutSeconds?: number; idleTimeoutSeconds?: number; tokenTtlSeconds?: number; endpointRefreshSeconds?: number}
  const format: LogFormat = input.logFormat ?? file.logFormat ?? 'text'
  const health = input.health ?? (file.health ? parseListenAddress(file.health, `"health" in ${input.configFile}`) : undefined)
  const seconds = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1000))
  const hybridConnections = await resolveAgentSources(config.hybridConnections, {cloud: input.cloud, resolveArm: input.resolveArm})
  refuseDuplicates(hybridConnections, config.hybridConnections)
  const tokenTtlMs = input.tokenTtlMs ?? seconds(file.tokenTtlSeconds)
  const endpointRefreshMs = input.endpointRefreshMs ?? seconds(file.endpointRefreshSeconds)
  return runAgent({
    hybridConnections,
    transport: transportFromCloud(input.cloud),
    health,
    log: (r) => {
      input.writeLog(formatLogRecord(r, format))
      input.onRecord?.(r)
    },
    drainTimeoutMs: input.drainTimeoutMs ?? seconds(file.drainTimeoutSeconds) ?? 30_000,
    connectTimeoutMs: input.connectTimeoutMs ?? seconds(file.connectTimeoutSeconds) ?? 10_000,
    idleTimeoutMs: (input.idleTimeoutMs ?? seconds(file.idleTimeoutSeconds) ?? 0) || undefined,
    tokenTtlSeconds: tokenTtlMs === undefined ? undefined : tokenTtlMs / 1000,
    endpointRefreshMs,
    signal: input.signal,
  })
}

/**
 * Two sources for one hybrid connection (a name through ARM and its own connection string)
 * would open two listeners on it, and the relay would spread senders over both: refuse it.
 */
function refuseDuplicates(resolved: AgentHybridConnection[], sources: AgentHcSource[]): void {
  const seen = new Map<string, string>()
  resolved.forEach((hc, i) => {
    const key = `${hc.credentials.host}/${hc.credentials.entity}`.toLowerCase()
    const origin = sources[i]?.origin ?? `entry #${i + 1}`
    const first = seen.get(key)
    if (first !== undefined) {
      throw new UsageError(`The hybrid connection ${key} is given twice (${first} and ${origin}): one agent listens once per hybrid connection.`, {
        code: 'DuplicateHybridConnection',
        suggestions: ['Give it either by name (with --namespace) or by --connection-string, not both.'],
      })
    }
    seen.set(key, origin)
  })
}

