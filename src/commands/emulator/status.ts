import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {emulatorStateDir} from '../../lib/azure/clouds.js'
import {CheckFailedError} from '../../lib/errors.js'

export default class EmulatorStatus extends BaseCommand<typeof EmulatorStatus> {
  static override summary = 'Tell whether the emulator of a state directory is running (exit 3 when it is not).'
  static override examples = ['<%= config.bin %> emulator status', '<%= config.bin %> emulator status --state ./.emu --json']
  static override flags = {
    state: Flags.string({description: 'State directory (default HCCTL_EMULATOR_STATE, else HCCTL_CONFIG_DIR/emulator, else ~/.hcctl/emulator).'}),
  }

  async run() {
    const {emulatorStatus} = await import('../../emulator/control.js')
    const status = await emulatorStatus(this.flags.state ?? emulatorStateDir())
    if (!this.jsonEnabled()) {
      this.log(status.running ? `running: arm=${status.armUrl} pid=${status.pid}${status.inMemory ? ' (in memory)' : ''} state=${status.stateDir}` : `not running: ${status.reason}`)
    }
    if (!status.running) {
      throw new CheckFailedError(`The emulator is not running: ${status.reason}.`, {code: 'EmulatorNotRunning', suggestions: ['Start it with `hcctl emulator start`.']})
    }
    return status
  }
}
