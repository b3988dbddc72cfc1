import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {emulatorStateDir} from '../../lib/azure/clouds.js'

export default class EmulatorStop extends BaseCommand<typeof EmulatorStop> {
  static override summary = 'Stop the emulator of a state directory (SIGTERM; it saves its state) and wait until it is gone.'
  static override examples = ['<%= config.bin %> emulator stop', '<%= config.bin %> emulator stop --state ./.emu']
  static override flags = {
    state: Flags.string({description: 'State directory (default HCCTL_EMULATOR_STATE, else HCCTL_CONFIG_DIR/emulator, else ~/.hcctl/emulator).'}),
  }

  async run() {
    const {stopEmulatorAt} = await import('../../emulator/control.js')
    const result = await stopEmulatorAt(this.flags.state ?? emulatorStateDir(), {signal: this.abort.signal})
    if (!this.jsonEnabled()) this.log(`stopped: pid ${result.pid} (${result.armUrl})`)
    return result
  }
}
