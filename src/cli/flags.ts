import {Flags} from '@oclif/core'

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
