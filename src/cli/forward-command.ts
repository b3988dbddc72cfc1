import type {CloudProfile} from '../lib/azure/clouds.js'
import {UsageError} from '../lib/errors.js'
import type {armResolvers} from '../lib/hybrid/connection-lookup.js'
import {credentialsFromConnectionString, type HybridConnectionCredentials} from '../lib/relay/credentials.js'
import type {Endpoint} from '../lib/relay/endpoint.js'
import {type ForwardReady, type ForwardSummary, runForward} from '../lib/relay/forward.js'
import {formatLogRecord, type LogFormat, record} from '../lib/relay/log.js'
import {transportFromCloud} from '../lib/relay/transport.js'
import {isWildcardOrPublic, type ListenAddress} from './flags.js'

/**
 * The glue of `hcctl forward`: check that exactly one way to the hybrid connection is given,
 * resolve it (Send connection string, or ARM), warn when the local port is open to the
 * network, run the forwarder until the signal. Durations are milliseconds here.
 */
export interface ForwardCommandInput {
  cloud: CloudProfile
  connectionString?: string
  hybridConnection?: string
  namespace?: string
  resourceGroup?: string
  app?: string
  hc?: string
  slot?: string
  subscription?: string
  local?: ListenAddress | {host: string; port?: undefined}
  logFormat?: LogFormat
  connectTimeoutMs?: number
  idleTimeoutMs?: number
  tokenTtlMs?: number
  signal: AbortSignal
  writeLog: (line: string) => void
  onReady: (ready: ForwardReady) => void
  /** ARM lookups (supplied by the command): by name with defaultSender, or an app's own key. */
  resolveArm?: Pick<ReturnType<typeof armResolvers>, 'sender' | 'app'>
}

export async function startForwardCommand(input: ForwardCommandInput): Promise<ForwardSummary> {
  const local = input.local ?? {host: '127.0.0.1'}
  const ways = [input.connectionString ? 1 : 0, input.hybridConnection ? 1 : 0, input.app ? 1 : 0].reduce((a, b) => a + b, 0)
  if (ways !== 1) {
    throw new UsageError(ways === 0 ? 'Which hybrid connection? Give --connection-string, or a name with --namespace and --resource-group, or --app with --hc.' : 'Give only one of --connection-string, a hybrid connection name, or --app.', {
      code: 'UsageError',
      suggestions: ['hcctl forward --connection-string "Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=defaultSender;SharedAccessKey=KEY;EntityPath=HC" --local 127.0.0.1:1433'],
    })
  }
  let credentials: HybridConnectionCredentials
  let endpoint: Endpoint | undefined
  if (input.connectionString) {
    credentials = credentialsFromConnectionString(input.connectionString, {cloud: input.cloud})
  } else if (!input.resolveArm) {
    throw new UsageError('Forwarding by name needs ARM, which is not available here.', {code: 'ArmUnavailable'})
  } else if (input.app) {
    if (!input.hc) throw new UsageError('--app needs --hc (the hybrid connection name).', {code: 'MissingHybridConnection'})
    ;({credentials, endpoint} = await input.resolveArm.app({app: input.app, resourceGroup: input.resourceGroup, slot: input.slot, hc: input.hc, subscription: input.subscription}))
  } else {
    if (!input.namespace) throw new UsageError(`The hybrid connection "${input.hybridConnection}" needs --namespace and --resource-group.`, {code: 'MissingNamespace'})
    ;({credentials, endpoint} = await input.resolveArm.sender({name: input.hybridConnection!, namespace: input.namespace, resourceGroup: input.resourceGroup, subscription: input.subscription}))
  }
  const format: LogFormat = input.logFormat ?? 'text'
  if (isWildcardOrPublic(local.host)) {
    input.writeLog(
      formatLogRecord(
        record('warn', 'warning', {msg: `--local ${local.host} accepts connections from other machines: anyone who can reach this port reaches the endpoint through the tunnel. Use 127.0.0.1 unless that is intended.`}),
        format,
      ),
    )
  }
  return runForward({
    credentials,
    endpoint,
    transport: transportFromCloud(input.cloud),
    local,
    log: (r) => input.writeLog(formatLogRecord(r, format)),
    connectTimeoutMs: input.connectTimeoutMs,
    idleTimeoutMs: input.idleTimeoutMs || undefined,
    tokenTtlSeconds: input.tokenTtlMs === undefined ? undefined : input.tokenTtlMs / 1000,
    signal: input.signal,
    onReady: input.onReady,
  })
}

