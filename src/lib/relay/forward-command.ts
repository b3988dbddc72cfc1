import type {CloudProfile} from '../azure/clouds.js'
import {UsageError} from '../errors.js'
import {parseListenAddress, secondsFlag} from './agent-config.js'
import type {armResolvers} from './arm-lookup.js'
import {credentialsFromConnectionString, type HybridConnectionCredentials} from './credentials.js'
import type {Endpoint} from './endpoint.js'
import {type ForwardReady, type ForwardSummary, runForward} from './forward.js'
import {formatLogRecord, type LogFormat} from './log.js'
import {transportFromCloud} from './transport.js'

/**
 * What `hcctl forward` does, without oclif: validate the input, resolve the hybrid connection
 * (Send connection string, or ARM), run the forwarder until the signal.
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
  accessToken?: string
  local?: string
  logFormat?: LogFormat
  connectTimeout?: string
  idleTimeout?: string
  tokenTtl?: string
  signal: AbortSignal
  writeLog: (line: string) => void
  onReady: (ready: ForwardReady) => void
  /** ARM lookups (supplied by the command): by name with defaultSender, or an app's own key. */
  resolveArm?: Pick<ReturnType<typeof armResolvers>, 'sender' | 'app'>
}

export async function startForwardCommand(input: ForwardCommandInput): Promise<ForwardSummary> {
  const local = input.local ? parseLocal(input.local) : {host: '127.0.0.1'}
  const connectTimeout = secondsFlag(input.connectTimeout, '--connect-timeout', 0.1)
  const idle = secondsFlag(input.idleTimeout, '--idle-timeout', 0)
  const ttl = secondsFlag(input.tokenTtl, '--token-ttl', 2)
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
  return runForward({
    credentials,
    endpoint,
    transport: transportFromCloud(input.cloud),
    local,
    log: (r) => input.writeLog(formatLogRecord(r, format)),
    connectTimeoutMs: connectTimeout === undefined ? undefined : connectTimeout * 1000,
    idleTimeoutMs: idle ? idle * 1000 : undefined,
    tokenTtlSeconds: ttl,
    signal: input.signal,
    onReady: input.onReady,
  })
}

/** `--local 1433`, `--local 0.0.0.0:1433`, `--local 127.0.0.1:` is not allowed. */
function parseLocal(text: string): {host: string; port?: number} {
  const a = parseListenAddress(text, '--local')
  return a
}
