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
