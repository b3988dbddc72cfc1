import {Flags} from '@oclif/core'

import {parseDuration} from '../lib/duration.js'
import {UsageError} from '../lib/errors.js'
import {readHostPort} from '../lib/relay/endpoint.js'

/** Flags of every command that talks to Azure (ARM or the relay). */
export const cloudFlag = Flags.string({
  description: 'Cloud profile: AzureCloud, AzureUSGovernment, AzureChinaCloud, emulator, custom, or a profile .json path.',
  env: 'HCCTL_CLOUD',
  helpGroup: 'AZURE',
})

export const azureFlags = {
  cloud: cloudFlag,
  subscription: Flags.string({
    description: 'Subscription id (else AZURE_SUBSCRIPTION_ID, else the Azure CLI default subscription).',
    helpGroup: 'AZURE',
  }),
  'access-token': Flags.string({
    description: 'Use this ARM bearer token instead of signing in (like ARMCLIENT_TOKEN).',
    env: 'HCCTL_ACCESS_TOKEN',
    helpGroup: 'AZURE',
  }),
}

export const resourceGroupFlag = Flags.string({
  char: 'g',
  description: 'Resource group.',
  env: 'HCCTL_RESOURCE_GROUP',
})

/** Where a flag's value came from, in the user's words: `--name`, or the environment variable. */
function source(flag: {name: string; env?: string}, context: {token?: unknown}): string {
  return context.token === undefined && flag.env ? `${flag.env} (the environment variable for --${flag.name})` : `--${flag.name}`
}

/**
 * A duration flag (`500ms`, `2s`, `1m`; a bare number is seconds), parsed to milliseconds by the
 * one duration parser; bounds in milliseconds. A bad value names the flag, or the environment
 * variable it came from.
 */
export const durationFlag = Flags.custom<number, {minMs?: number; maxMs?: number}>({
  async parse(input, context, flag) {
    return parseDuration(input, {name: source(flag, context), minMs: flag.minMs, maxMs: flag.maxMs})
  },
})

/**
 * A listen address flag: `9090` (127.0.0.1), `host:port`, `[::1]:9090`. Parsed to `{host, port}`.
 */
export const listenAddressFlag = Flags.custom<ListenAddress>({
  async parse(input, context, flag) {
    return parseListenAddress(input, source(flag, context))
  },
})

export interface ListenAddress {
  host: string
  port: number
}

/** `9090` → 127.0.0.1:9090; `host:port`; `[::1]:9090`; `:9090`. Loopback unless an address is given. */
export function parseListenAddress(text: string, what: string): ListenAddress {
  const t = text.trim()
  const read = readHostPort(t, {defaultHost: '127.0.0.1', allowPortZero: true})
  if (!read.ok) {
    throw new UsageError(`${what} "${t.slice(0, 60)}" is not [address:]port: ${read.reason}.`, {code: 'InvalidAddress', suggestions: ['For example 127.0.0.1:9090, [::1]:9090 or just 9090 (on 127.0.0.1).']})
  }
  return read.endpoint
}

/** True when an address is reachable from other machines (not loopback). */
export function isWildcardOrPublic(host: string): boolean {
  return !(host === 'localhost' || host === '::1' || /^127\./.test(host))
}

/** The longest SAS token lifetime hcctl signs: 30 days. */
export const TOKEN_TTL_MAX_MS = 30 * 24 * 3_600_000

/** A byte size with an optional unit (`4096`, `64K`, `50MB`, `1.5MiB`), as dd reads them. */
export const sizeFlag = (options: {description: string; default: number; min?: number; max?: number}) =>
  Flags.custom<number>({
    description: `${options.description} Bytes, or with a unit: 64K, 50MB, 1.5MiB (K/M/G are 1024-based, kB/MB/GB 1000-based).`,
    default: options.default,
    parse: async (input, _ctx, opts) => {
      const {parseByteSize} = await import('../lib/output/size.js')
      return parseByteSize(input, `--${opts.name}`, {min: options.min, max: options.max})
    },
  })()
