import {existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'

import {UsageError} from '../errors.js'

/**
 * A cloud profile: every endpoint hcctl talks to. Nothing else in the code names an endpoint;
 * this is how sovereign clouds, custom clouds and the emulator plug in.
 */
export interface CloudProfile {
  name: string
  /** ARM base URL, no trailing slash, e.g. https://management.azure.com */
  armEndpoint: string
  /** Token audience for ARM; the scope asked for is `${armAudience}/.default`. */
  armAudience: string
  /** Entra ID authority host, e.g. https://login.microsoftonline.com */
  authorityHost: string
  /** Relay namespace DNS suffix with its leading dot, e.g. .servicebus.windows.net */
  relaySuffix: string
  /** App Service default host suffix, e.g. .azurewebsites.net (the Kudu site adds .scm) */
  appServiceSuffix: string
  /** PEM CA bundle trusted for this cloud only (the emulator's own CA). */
  ca?: string
  /** Where `ca` was read from, for messages. */
  caPath?: string
  /**
   * Relay traffic goes to this address instead of the namespace's DNS name (SNI and Host stay
   * `{ns}{relaySuffix}`). The emulator uses it; so can a test host behind a port forward.
   */
  relayAddress?: {host: string; port: number}
  /**
   * A resolver override for the gateway probe (`hcctl gateways`, `check --gateways`): names the
   * profile answers itself instead of DNS. The emulator uses it to stand in for a relay stamp.
   */
  resolver?: ResolverOverride
  /** Skip MSAL instance discovery (custom authorities such as the emulator). */
  disableInstanceDiscovery?: boolean
  /** Default principal and subscription (emulator profiles only). */
  defaults?: {tenantId?: string; clientId?: string; clientSecret?: string; subscriptionId?: string}
}

/**
 * Names answered without DNS. Keys are names or patterns where `*` stands for one or more
 * characters inside one label (`*.servicebus.localhost`, `*-prod-emu-001-sb.servicebus.localhost`);
 * an exact name wins over a pattern, a longer pattern over a shorter one, `address` over `cname`.
 */
export interface ResolverOverride {
  /** name → CNAME target */
  cname?: Record<string, string>
  /** name → `ip:port` where connections to it go, or null for "no such name" (NXDOMAIN) */
  address?: Record<string, string | null>
}

export const PUBLIC_CLOUDS: Record<string, CloudProfile> = {
  AzureCloud: {
    name: 'AzureCloud',
    armEndpoint: 'https://management.azure.com',
    armAudience: 'https://management.azure.com',
    authorityHost: 'https://login.microsoftonline.com',
    relaySuffix: '.servicebus.windows.net',
    appServiceSuffix: '.azurewebsites.net',
  },
  AzureUSGovernment: {
    name: 'AzureUSGovernment',
    armEndpoint: 'https://management.usgovcloudapi.net',
    armAudience: 'https://management.usgovcloudapi.net',
    authorityHost: 'https://login.microsoftonline.us',
    relaySuffix: '.servicebus.usgovcloudapi.net',
    appServiceSuffix: '.azurewebsites.us',
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    armEndpoint: 'https://management.chinacloudapi.cn',
    armAudience: 'https://management.chinacloudapi.cn',
    authorityHost: 'https://login.chinacloudapi.cn',
    relaySuffix: '.servicebus.chinacloudapi.cn',
    appServiceSuffix: '.chinacloudsites.cn',
  },
}

export const EMULATOR_CLOUD = 'emulator'
export const CUSTOM_CLOUD = 'custom'

/** The hcctl config folder: HCCTL_CONFIG_DIR, else ~/.hcctl. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HCCTL_CONFIG_DIR ? resolve(env.HCCTL_CONFIG_DIR) : join(homedir(), '.hcctl')
}

/**
 * Where `hcctl emulator start` keeps its state and `profile.json` unless told otherwise:
 * HCCTL_EMULATOR_STATE, else `emulator` under the config folder (so HCCTL_CONFIG_DIR moves it too).
 */
export function emulatorStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HCCTL_EMULATOR_STATE ? resolve(env.HCCTL_EMULATOR_STATE) : join(configDir(env), 'emulator')
}

export function cloudNames(): string[] {
  return [...Object.keys(PUBLIC_CLOUDS), EMULATOR_CLOUD, CUSTOM_CLOUD, '<path to a profile .json>']
}

/**
 * Resolves `--cloud NAME` (or HCCTL_CLOUD): a public cloud by name (case-insensitive),
 * `emulator` (reads the emulator's profile.json), `custom` (HCCTL_ARM_ENDPOINT and friends),
 * or a path to a JSON profile file.
 */
export function resolveCloud(name: string | undefined, env: NodeJS.ProcessEnv = process.env): CloudProfile {
  const wanted = name ?? env.HCCTL_CLOUD ?? 'AzureCloud'
  const publicCloud = Object.values(PUBLIC_CLOUDS).find((c) => c.name.toLowerCase() === wanted.toLowerCase())
  if (publicCloud) return {...publicCloud}
  if (wanted.toLowerCase() === EMULATOR_CLOUD) return loadEmulatorProfile(env)
  if (wanted.toLowerCase() === CUSTOM_CLOUD) return customFromEnv(env)
  if (wanted.endsWith('.json')) return loadProfileFile(wanted)
  throw new UsageError(`Unknown cloud "${wanted}".`, {
    code: 'UnknownCloud',
    suggestions: [`Use one of: ${cloudNames().join(', ')}.`],
  })
}

export function loadEmulatorProfile(env: NodeJS.ProcessEnv = process.env): CloudProfile {
  const file = join(emulatorStateDir(env), 'profile.json')
  if (!existsSync(file)) {
    throw new UsageError(`The emulator cloud has no profile at ${file}.`, {
      code: 'EmulatorNotStarted',
      suggestions: [
        'Start it with `hcctl emulator start` (it writes profile.json), or point HCCTL_EMULATOR_STATE at its state directory.',
      ],
    })
  }
  return loadProfileFile(file, EMULATOR_CLOUD)
}

/** Reads and validates a profile file; a CA path in it is resolved relative to the file. */
export function loadProfileFile(file: string, fallbackName = CUSTOM_CLOUD): CloudProfile {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new UsageError(`Cannot read the cloud profile ${file}: ${(error as Error).message}`, {code: 'InvalidCloudProfile'})
  }
  return validateProfile(raw, file, fallbackName)
}

function customFromEnv(env: NodeJS.ProcessEnv): CloudProfile {
  const armEndpoint = env.HCCTL_ARM_ENDPOINT
  if (!armEndpoint) {
    throw new UsageError('The custom cloud needs HCCTL_ARM_ENDPOINT.', {
      code: 'InvalidCloudProfile',
      suggestions: [
        'Set HCCTL_ARM_ENDPOINT, HCCTL_AUTHORITY_HOST, HCCTL_RELAY_SUFFIX (and optionally HCCTL_ARM_AUDIENCE, HCCTL_CA_FILE), or pass --cloud path/to/profile.json.',
      ],
    })
  }
  return validateProfile(
    {
      name: CUSTOM_CLOUD,
      armEndpoint,
      armAudience: env.HCCTL_ARM_AUDIENCE,
      authorityHost: env.HCCTL_AUTHORITY_HOST,
      relaySuffix: env.HCCTL_RELAY_SUFFIX,
      appServiceSuffix: env.HCCTL_APP_SERVICE_SUFFIX,
      caPath: env.HCCTL_CA_FILE,
    },
    'environment',
    CUSTOM_CLOUD,
  )
}

function validateProfile(raw: unknown, source: string, fallbackName: string): CloudProfile {
  if (!raw || typeof raw !== 'object') throw invalid(source, 'it is not a JSON object')
  const r = raw as Record<string, unknown>
  const url = (key: string, required: boolean): string | undefined => {
    const v = r[key]
    if (v === undefined || v === null || v === '') {
      if (required) throw invalid(source, `"${key}" is missing`)
      return undefined
    }
    if (typeof v !== 'string' || !/^https?:\/\/[^/]+/.test(v)) throw invalid(source, `"${key}" must be an http(s) URL`)
    return v.replace(/\/+$/, '')
  }
  const armEndpoint = url('armEndpoint', true)!
  const relaySuffixRaw = r.relaySuffix ?? '.servicebus.windows.net'
  if (typeof relaySuffixRaw !== 'string' || !/^\.?[a-z0-9.-]+$/i.test(relaySuffixRaw)) throw invalid(source, '"relaySuffix" must be a DNS suffix such as .servicebus.windows.net')
  const profile: CloudProfile = {
    name: typeof r.name === 'string' && r.name ? r.name : fallbackName,
    armEndpoint,
    armAudience: url('armAudience', false) ?? armEndpoint,
    authorityHost: url('authorityHost', false) ?? 'https://login.microsoftonline.com',
    relaySuffix: relaySuffixRaw.startsWith('.') ? relaySuffixRaw : `.${relaySuffixRaw}`,
    appServiceSuffix: typeof r.appServiceSuffix === 'string' && r.appServiceSuffix ? r.appServiceSuffix : '.azurewebsites.net',
    disableInstanceDiscovery: r.disableInstanceDiscovery === true,
  }
  if (typeof r.caPath === 'string' && r.caPath) {
    const caPath = source === 'environment' ? resolve(r.caPath) : resolve(join(source, '..'), r.caPath)
    try {
      profile.ca = readFileSync(caPath, 'utf8')
      profile.caPath = caPath
    } catch (error) {
      throw invalid(source, `its CA file ${caPath} cannot be read (${(error as Error).message})`)
    }
  }
  if (r.relayAddress !== undefined) {
    const a = r.relayAddress as Record<string, unknown>
    if (!a || typeof a.host !== 'string' || typeof a.port !== 'number' || a.port < 1 || a.port > 65535) {
      throw invalid(source, '"relayAddress" must be {"host": string, "port": 1-65535}')
    }
    profile.relayAddress = {host: a.host, port: a.port}
  }
  if (r.resolver !== undefined) profile.resolver = validateResolver(r.resolver, source)
  if (r.defaults && typeof r.defaults === 'object') {
    const d = r.defaults as Record<string, unknown>
    const str = (k: string) => (typeof d[k] === 'string' ? (d[k] as string) : undefined)
    profile.defaults = {tenantId: str('tenantId'), clientId: str('clientId'), clientSecret: str('clientSecret'), subscriptionId: str('subscriptionId')}
  }
  return profile
}

function validateResolver(raw: unknown, source: string): ResolverOverride {
  const bad = () => invalid(source, '"resolver" must be {"cname": {name: target}, "address": {name: "ip:port" | null}}')
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw bad()
  const r = raw as Record<string, unknown>
  const out: ResolverOverride = {}
  for (const key of ['cname', 'address'] as const) {
    const table = r[key]
    if (table === undefined) continue
    if (!table || typeof table !== 'object' || Array.isArray(table)) throw bad()
    for (const v of Object.values(table)) {
      if (key === 'cname' ? typeof v !== 'string' : !(v === null || (typeof v === 'string' && /^[0-9a-f.:[\]]+:\d{1,5}$/i.test(v)))) throw bad()
    }
    out[key] = table as Record<string, string>
  }
  return out
}

function invalid(source: string, why: string): UsageError {
  return new UsageError(`The cloud profile from ${source} is invalid: ${why}.`, {
    code: 'InvalidCloudProfile',
    suggestions: ['A profile needs at least armEndpoint; see `hcctl cloud list --help` for the fields.'],
  })
}

/** The namespace host name in this cloud, e.g. `contoso.servicebus.windows.net`. */
export function relayHost(cloud: CloudProfile, namespace: string): string {
  return `${namespace}${cloud.relaySuffix}`
}

/** The ARM scope for token requests. */
export function armScope(cloud: CloudProfile): string {
  return `${cloud.armAudience.replace(/\/+$/, '')}/.default`
}
