import type {CloudProfile} from '../azure/clouds.js'
import {UsageError} from '../errors.js'
import {type AgentHybridConnection, type AgentSummary, runAgent} from './agent.js'
import {type AgentHcSource, loadAgentConfig, parseListenAddress, secondsFlag} from './agent-config.js'
import {formatLogRecord, type LogFormat, type RelayLogRecord} from './log.js'
import {resolveAgentSources} from './setup.js'
import {transportFromCloud} from './transport.js'

/**
 * What `hcctl agent` does, without oclif: load and validate the configuration (flags, env,
 * agent.yaml), resolve each hybrid connection (connection string or ARM), run the agent until
 * the signal, and return its summary. Log lines go to `writeLog` (stderr in the command).
 */
export interface AgentCommandInput {
  hybridConnection?: string
  namespace?: string
  resourceGroup?: string
  subscription?: string
  accessToken?: string
  cloud: CloudProfile
  connectionStrings?: string[]
  envConnectionStrings?: string
  configFile?: string
  health?: string
  logFormat?: LogFormat
  drainTimeout?: string
  connectTimeout?: string
  idleTimeout?: string
  tokenTtl?: string
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
    armArg.push({kind: 'arm', name: input.hybridConnection, namespace: input.namespace, resourceGroup: input.resourceGroup, subscription: input.subscription, origin: 'argument'})
  } else if (input.namespace) {
    throw new UsageError('--namespace needs a hybrid connection name as the argument.', {code: 'MissingHybridConnection'})
  }
  // Validate every flag before loading anything.
  const drain = secondsFlag(input.drainTimeout, '--drain-timeout', 0)
  const connect = secondsFlag(input.connectTimeout, '--connect-timeout', 0.1)
  const idle = secondsFlag(input.idleTimeout, '--idle-timeout', 0)
  const ttl = secondsFlag(input.tokenTtl, '--token-ttl', 2)
  const config =
    armArg.length > 0 && !input.connectionStrings?.length && !input.configFile && !input.envConnectionStrings
      ? {hybridConnections: armArg}
      : await loadAgentConfig({connectionStrings: input.connectionStrings, envConnectionStrings: input.envConnectionStrings, configFile: input.configFile}).then((c) => ({
          ...c,
          hybridConnections: [...c.hybridConnections, ...armArg],
        }))
  const health = input.health ?? ('health' in config ? config.health : undefined)
  const format: LogFormat = input.logFormat ?? ('logFormat' in config && config.logFormat ? config.logFormat : 'text')
  const healthAddress = health ? parseListenAddress(health, '--health') : undefined
  const file = config as {drainTimeoutSeconds?: number; connectTimeoutSeconds?: number; idleTimeoutSeconds?: number; tokenTtlSeconds?: number}
  const hybridConnections = await resolveAgentSources(config.hybridConnections, {cloud: input.cloud, resolveArm: input.resolveArm})
  return runAgent({
    hybridConnections,
    transport: transportFromCloud(input.cloud),
    health: healthAddress,
    log: (r) => {
      input.writeLog(formatLogRecord(r, format))
      input.onRecord?.(r)
    },
    drainTimeoutMs: 1000 * (drain ?? file.drainTimeoutSeconds ?? 30),
    connectTimeoutMs: 1000 * (connect ?? file.connectTimeoutSeconds ?? 10),
    idleTimeoutMs: 1000 * (idle ?? file.idleTimeoutSeconds ?? 0) || undefined,
    tokenTtlSeconds: ttl ?? file.tokenTtlSeconds,
    signal: input.signal,
  })
}
