import {BaseCommand} from '../../cli/base-command.js'
import {type CloudProfile, PUBLIC_CLOUDS, resolveCloud} from '../../lib/azure/clouds.js'
import {renderTable} from '../../lib/output/table.js'

export interface CloudListResult {
  clouds: Array<Pick<CloudProfile, 'name' | 'armEndpoint' | 'authorityHost' | 'relaySuffix'> & {active: boolean}>
}

export default class CloudList extends BaseCommand<typeof CloudList> {
  static override summary = 'List the cloud profiles hcctl knows and which one is active.'
  static override description =
    'The active cloud comes from --cloud on each command or HCCTL_CLOUD. Besides the public clouds, `emulator` reads the profile written by `hcctl emulator start`, `custom` reads HCCTL_ARM_ENDPOINT, HCCTL_AUTHORITY_HOST, HCCTL_RELAY_SUFFIX, HCCTL_ARM_AUDIENCE and HCCTL_CA_FILE, and a path to a .json file reads a profile with the same fields (armEndpoint, authorityHost, relaySuffix, armAudience, caPath, relayAddress).'
  static override examples = ['<%= config.bin %> cloud list', 'HCCTL_CLOUD=AzureUSGovernment <%= config.bin %> cloud list --json']

  async run(): Promise<CloudListResult> {
    const active = resolveCloud(undefined).name
    const clouds = Object.values(PUBLIC_CLOUDS).map((c) => ({
      name: c.name,
      armEndpoint: c.armEndpoint,
      authorityHost: c.authorityHost,
      relaySuffix: c.relaySuffix,
      active: c.name === active,
    }))
    if (!PUBLIC_CLOUDS[active]) {
      const c = resolveCloud(undefined)
      clouds.push({name: c.name, armEndpoint: c.armEndpoint, authorityHost: c.authorityHost, relaySuffix: c.relaySuffix, active: true})
    }
    if (!this.jsonEnabled()) {
      this.log(
        renderTable(clouds, [
          {header: '', get: (c) => (c.active ? '*' : '')},
          {header: 'Name', get: (c) => c.name},
          {header: 'ARM', get: (c) => c.armEndpoint},
          {header: 'Relay suffix', get: (c) => c.relaySuffix},
        ]),
      )
    }
    return {clouds}
  }
}
