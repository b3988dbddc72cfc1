import {readFileSync} from 'node:fs'

import {tryParseDuration} from '../duration.js'
import {UsageError} from '../errors.js'
import {parseConnectionString, type RelayConnectionString} from './connection-string.js'

/**
 * What `hcctl agent` listens on, from three sources merged in this order: `--connection-string`
 * (repeatable), HCCTL_AGENT_CONNECTION_STRINGS (one per line, or separated by commas), and
 * `--config agent.yaml`. Everything is validated here, at the edge: a bad entry is a UsageError
 * that names the entry and the bad part, never the key.
 *
 * agent.yaml:
 *   hybridConnections:
 *     - connectionString: "Endpoint=sb://…;SharedAccessKeyName=defaultListener;SharedAccessKey=…;EntityPath=hc1"
 *     - connectionStringEnv: HC2_CONNECTION_STRING      # read from this environment variable
 *     - connectionStringFile: /run/secrets/hc3         # read from this file (a mounted Secret)
 *     - name: hc4                                       # through ARM (defaultListener rule)
 *       namespace: contoso-relay
 *       resourceGroup: onprem-rg
 *   health: 127.0.0.1:9090
 *   logFormat: json          # or text
 *   drainTimeout: 30         # seconds
 *   connectTimeout: 5        # seconds, TCP connect to the endpoint
 *   idleTimeout: 0           # seconds, 0 = never
 *   tokenTtl: 3600           # seconds, lifetime of the SAS tokens the agent signs
 *   endpointRefresh: 60      # seconds, re-read each endpoint this often (0 = never)
 */
export type AgentHcSource =
  | {kind: 'connectionString'; connectionString: RelayConnectionString; origin: string}
  | {kind: 'arm'; name: string; namespace: string; resourceGroup?: string; subscription?: string; origin: string}

export interface AgentFileSettings {
  health?: string
  logFormat?: 'text' | 'json'
  drainTimeoutSeconds?: number
  connectTimeoutSeconds?: number
  idleTimeoutSeconds?: number
  tokenTtlSeconds?: number
  endpointRefreshSeconds?: number
}

export interface AgentConfig extends AgentFileSettings {
  hybridConnections: AgentHcSource[]
}

export interface LoadAgentConfigOptions {
  connectionStrings?: string[]
  /** Value of HCCTL_AGENT_CONNECTION_STRINGS. */
  envConnectionStrings?: string
  configFile?: string
  /** For connectionStringEnv entries (default process.env). */
  env?: NodeJS.ProcessEnv
  /** File reader, for tests. */
  readFile?: (path: string) => string
}

export async function loadAgentConfig(options: LoadAgentConfigOptions): Promise<AgentConfig> {
  const hcs: AgentHcSource[] = []
  ;(options.connectionStrings ?? []).forEach((cs, i) => hcs.push(fromConnectionString(cs, `--connection-string #${i + 1}`)))
  if (options.envConnectionStrings && options.envConnectionStrings.trim()) {
    splitList(options.envConnectionStrings).forEach((cs, i) => hcs.push(fromConnectionString(cs, `HCCTL_AGENT_CONNECTION_STRINGS entry #${i + 1}`)))
  }
  let settings: AgentFileSettings = {}
  if (options.configFile) {
    const file = await parseConfigFile(options.configFile, options)
    hcs.push(...file.hybridConnections)
    settings = file
  }
  const seen = new Set<string>()
  for (const hc of hcs) {
    const key = hc.kind === 'connectionString' ? `${hc.connectionString.host}/${hc.connectionString.entityPath}`.toLowerCase() : `arm:${hc.namespace}/${hc.name}`.toLowerCase()
    if (seen.has(key)) throw new UsageError(`The hybrid connection ${key.replace(/^arm:/, '')} is given twice (${hc.origin}).`, {code: 'DuplicateHybridConnection'})
    seen.add(key)
  }
  if (hcs.length === 0) {
    throw new UsageError('No hybrid connection to listen on.', {
      code: 'NoHybridConnections',
      suggestions: [
        'Pass --connection-string "Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=defaultListener;SharedAccessKey=KEY;EntityPath=HC" (repeatable), set HCCTL_AGENT_CONNECTION_STRINGS, use --config agent.yaml, or name one: `hcctl agent HC --namespace NS -g RG`.',
      ],
    })
  }
  const {hybridConnections: _ignored, ...rest} = settings as AgentConfig
  return {...rest, hybridConnections: hcs}
}

function splitList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean)
}

function fromConnectionString(text: string, origin: string): AgentHcSource {
  let cs: RelayConnectionString
  try {
    cs = parseConnectionString(text)
  } catch (error) {
    const e = error as UsageError
    throw new UsageError(`${origin}: ${e.message}`, {code: e.code, suggestions: e.suggestions})
  }
  if (!cs.entityPath) {
    throw new UsageError(`${origin}: The connection string is invalid: EntityPath (the hybrid connection name) is missing.`, {
      code: 'InvalidConnectionString',
      suggestions: ['Use the hybrid connection\'s gateway connection string (it ends with ;EntityPath=NAME).'],
    })
  }
  return {kind: 'connectionString', connectionString: cs, origin}
}

const TOP_KEYS = new Set(['hybridConnections', 'health', 'logFormat', 'drainTimeout', 'connectTimeout', 'idleTimeout', 'tokenTtl', 'endpointRefresh'])
const HC_KEYS = new Set(['connectionString', 'connectionStringEnv', 'connectionStringFile', 'name', 'namespace', 'resourceGroup', 'subscription'])

/**
 * The mapping with its keys spelled as `known` spells them: names are read without regard to
 * case, as Azure reads property names (`connectionstring` is `connectionString`).
 */
function canonicalKeys(o: Record<string, unknown>, known: Set<string>, unknown: (key: string) => Error, twice: (key: string) => Error): Record<string, unknown> {
  const byLower = new Map([...known].map((k) => [k.toLowerCase(), k]))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o)) {
    const name = byLower.get(k.toLowerCase())
    if (!name) throw unknown(k)
    if (name in out) throw twice(k)
    out[name] = v
  }
  return out
}

async function parseConfigFile(path: string, options: LoadAgentConfigOptions): Promise<AgentConfig> {
  const read = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'))
  let text: string
  try {
    text = read(path)
  } catch (error) {
    throw new UsageError(`Cannot read the agent config ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, {code: 'InvalidAgentConfig'})
  }
  const {parse} = await import('yaml')
  let doc: unknown
  try {
    // YAML is a superset of JSON: one parser reads both, and the error names what was meant.
    doc = parse(text, {logLevel: 'error'})
  } catch (error) {
    if (/\.json$/i.test(path) || /^\s*[{[]/.test(text)) {
      let why = (error as Error).message
      try {
        JSON.parse(text)
      } catch (jsonError) {
        why = (jsonError as Error).message
      }
      throw bad(path, `it is not valid JSON (${why.split('\n')[0]})`)
    }
    throw bad(path, `it is not valid YAML (${(error as Error).message.split('\n')[0]})`)
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw bad(path, 'it is not a mapping with a hybridConnections list')
  const d = canonicalKeys(doc as Record<string, unknown>, TOP_KEYS, (k) => bad(path, `unknown key "${k.slice(0, 40)}" (known: ${[...TOP_KEYS].join(', ')})`), (k) => bad(path, `the key "${k.slice(0, 40)}" is given twice`))
  const list = d.hybridConnections
  if (!Array.isArray(list) || list.length === 0) throw bad(path, '"hybridConnections" must be a non-empty list')
  const env = options.env ?? process.env
  const hcs = list.map((item, i): AgentHcSource => {
    const where = `hybridConnections[${i}]`
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw bad(path, `${where} is not a mapping`)
    const o = canonicalKeys(item as Record<string, unknown>, HC_KEYS, (k) => bad(path, `${where} has the unknown key "${k.slice(0, 40)}"`), (k) => bad(path, `${where} gives the key "${k.slice(0, 40)}" twice`))
    const str = (k: string): string | undefined => {
      const v = o[k]
      if (v === undefined || v === null) return undefined
      if (typeof v !== 'string' || !v.trim()) throw bad(path, `${where}.${k} must be a non-empty string`)
      return v.trim()
    }
    const cs = str('connectionString')
    const csEnv = str('connectionStringEnv')
    const csFile = str('connectionStringFile')
    const name = str('name')
    const given = [cs, csEnv, csFile, name].filter((v) => v !== undefined).length
    if (given !== 1) throw bad(path, `${where} needs exactly one of connectionString, connectionStringEnv, connectionStringFile, or name (with namespace)`)
    const origin = `${path} ${where}`
    if (cs !== undefined) return fromConnectionString(cs, origin)
    if (csEnv !== undefined) {
      const v = env[csEnv]
      if (!v) throw bad(path, `${where}.connectionStringEnv names ${csEnv}, which is not set`)
      return fromConnectionString(v, `${origin} (from $${csEnv})`)
    }
    if (csFile !== undefined) {
      let v: string
      try {
        v = read(csFile)
      } catch (error) {
        throw bad(path, `${where}.connectionStringFile ${csFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
      }
      return fromConnectionString(v.trim(), `${origin} (from ${csFile})`)
    }
    const namespace = str('namespace')
    if (!namespace) throw bad(path, `${where} names hybrid connection "${name}" but no namespace`)
    return {kind: 'arm', name: name!, namespace, resourceGroup: str('resourceGroup'), subscription: str('subscription'), origin}
  })
  const out: AgentConfig = {hybridConnections: hcs}
  if (d.health !== undefined) {
    if (typeof d.health !== 'string' && typeof d.health !== 'number') throw bad(path, '"health" must be an address such as 127.0.0.1:9090 or a port')
    out.health = String(d.health)
  }
  if (d.logFormat !== undefined) {
    if (d.logFormat !== 'text' && d.logFormat !== 'json') throw bad(path, '"logFormat" must be text or json')
    out.logFormat = d.logFormat
  }
  const seconds = (k: string, min: number): number | undefined => {
    const v = d[k]
    if (v === undefined || v === null) return undefined
    const n = typeof v === 'number' ? v : typeof v === 'string' ? parseDurationSeconds(v) : NaN
    if (!Number.isFinite(n) || n < min) throw bad(path, `"${k}" must be a number of seconds (or a duration such as 30s, 5m) of at least ${min}`)
    return n
  }
  out.drainTimeoutSeconds = seconds('drainTimeout', 0)
  out.connectTimeoutSeconds = seconds('connectTimeout', 0.1)
  out.idleTimeoutSeconds = seconds('idleTimeout', 0)
  out.tokenTtlSeconds = seconds('tokenTtl', 2)
  out.endpointRefreshSeconds = seconds('endpointRefresh', 0)
  return out
}

/** `30`, `30s`, `1.5s`, `500ms`, `5m`, `1h` → seconds (NaN when malformed); the one duration parser. */
export function parseDurationSeconds(text: string): number {
  const ms = tryParseDuration(text)
  return ms === undefined ? Number.NaN : ms / 1000
}

function bad(path: string, why: string): UsageError {
  return new UsageError(`The agent config ${path} is invalid: ${why}.`, {
    code: 'InvalidAgentConfig',
    suggestions: ['See "Agent config file" in `hcctl agent --help` for the file format, or deploy/agent.example.yaml (hybridConnections: - connectionString | connectionStringEnv | connectionStringFile | name+namespace).'],
  })
}
