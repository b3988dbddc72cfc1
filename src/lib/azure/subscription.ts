import {existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {UsageError} from '../errors.js'
import type {CloudProfile} from './clouds.js'

export type SubscriptionSource = 'flag' | 'environment' | 'cloud-profile' | 'azure-cli'

export interface ResolvedSubscription {
  id: string
  source: SubscriptionSource
  /** For messages: where it came from, e.g. "~/.azure/azureProfile.json (default: Contoso Dev)". */
  origin: string
}

export interface SubscriptionOptions {
  /** --subscription */
  flag?: string
  cloud?: CloudProfile
  env?: NodeJS.ProcessEnv
  home?: string
}

/**
 * The subscription to use: `--subscription`, else AZURE_SUBSCRIPTION_ID, else the cloud
 * profile's default (the emulator), else the Azure CLI's default subscription from
 * azureProfile.json (in AZURE_CONFIG_DIR or ~/.azure). Throws a UsageError naming the ways.
 */
export function resolveSubscription(options: SubscriptionOptions = {}): ResolvedSubscription {
  const env = options.env ?? process.env
  if (options.flag !== undefined && options.flag.trim() !== '') return {id: check(options.flag, '--subscription'), source: 'flag', origin: '--subscription'}
  if (env.AZURE_SUBSCRIPTION_ID?.trim()) return {id: check(env.AZURE_SUBSCRIPTION_ID, 'AZURE_SUBSCRIPTION_ID'), source: 'environment', origin: 'AZURE_SUBSCRIPTION_ID'}
  const profileDefault = options.cloud?.defaults?.subscriptionId
  if (profileDefault) return {id: check(profileDefault, `the ${options.cloud!.name} cloud profile`), source: 'cloud-profile', origin: `the ${options.cloud!.name} cloud profile`}
  const file = azureProfilePath(env, options.home)
  const fromCli = existsSync(file) ? readCliDefault(file, options.cloud?.name) : undefined
  if (fromCli) return {id: check(fromCli.id, file), source: 'azure-cli', origin: `${file}${fromCli.name ? ` (default: ${fromCli.name})` : ''}`}
  throw new UsageError('No subscription: hcctl needs one for this command.', {
    code: 'NoSubscription',
    suggestions: [
      'Pass --subscription <id>,',
      'or set AZURE_SUBSCRIPTION_ID,',
      `or choose a default with the Azure CLI: az account set --subscription <id> (hcctl reads ${file}).`,
    ],
  })
}

/** The Azure CLI's profile file: $AZURE_CONFIG_DIR/azureProfile.json or ~/.azure/azureProfile.json. */
export function azureProfilePath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  return join(env.AZURE_CONFIG_DIR || join(home, '.azure'), 'azureProfile.json')
}

/**
 * The default subscription in an azureProfile.json (the CLI writes it with a UTF-8 BOM).
 * Prefers the default whose environmentName matches the cloud. A broken file is a UsageError.
 */
export function readCliDefault(file: string, cloudName?: string): {id: string; name?: string} | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''))
  } catch (error) {
    throw new UsageError(`Cannot read the Azure CLI profile ${file}: ${(error as Error).message}`, {
      code: 'InvalidAzureProfile',
      suggestions: ['Run `az account show` to repair it, or pass --subscription / set AZURE_SUBSCRIPTION_ID.'],
    })
  }
  const subs = (parsed as {subscriptions?: unknown})?.subscriptions
  if (!Array.isArray(subs)) return undefined
  const defaults = subs.filter((s): s is {id: string; name?: string; environmentName?: string; isDefault: true} =>
    Boolean(s && typeof s === 'object' && (s as {isDefault?: unknown}).isDefault === true && typeof (s as {id?: unknown}).id === 'string'),
  )
  const match = cloudName ? defaults.find((s) => s.environmentName?.toLowerCase() === cloudName.toLowerCase()) : undefined
  const chosen = match ?? defaults[0]
  return chosen ? {id: chosen.id, name: typeof chosen.name === 'string' ? chosen.name : undefined} : undefined
}

function check(value: string, origin: string): string {
  const id = value.trim()
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    throw new UsageError(`The subscription id from ${origin} is not valid: ${JSON.stringify(id)}.`, {
      code: 'InvalidSubscription',
      suggestions: ['A subscription id looks like 00000000-0000-0000-0000-000000000000 (`az account list -o table` shows yours).'],
    })
  }
  return id
}
