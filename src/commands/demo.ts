import {BaseCommand} from '../cli/base-command.js'
import {colorFor} from '../lib/output/color.js'
import type {DemoEvent, DemoResult} from '../demo/demo.js'
import {ExitCode, HcctlError} from '../lib/errors.js'

export default class Demo extends BaseCommand<typeof Demo> {
  static override summary = 'Run the whole job end to end on the embedded emulator, offline.'
  static override description =
    'Starts the local emulator (ARM, token service and relay, over TLS) and a stand-in on-premises service, then runs the real hcctl commands: create and attach a hybrid connection, list it, diagnose it before and after the agent runs, start the agent, forward a local port through the relay with the app\'s key, call the service through it, and check every hop. Nothing leaves this machine; everything is torn down at the end. Exit 0 when every step did what it should.'

  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --json --query "roundTrip"']

  async run(): Promise<DemoResult> {
    const {runDemo} = await import('../demo/demo.js')
    const c = colorFor(process.stdout)
    const human = !this.jsonEnabled()
    const print = (e: DemoEvent) => {
      if (!human) return
      if (e.kind === 'info') this.log(c.dim(`# ${e.text}`))
      if (e.kind === 'command') this.log(`\n${c.bold(e.title)}\n${c.cyan('$')} ${e.command}`)
      if (e.kind === 'output' && e.text) this.log(e.text.replace(/^/gm, '  '))
    }
    const result = await runDemo({print, signal: this.abort.signal})
    if (!result.ok) {
      throw new HcctlError('The demo did not complete as expected (see the steps above).', ExitCode.Unexpected, {code: 'DemoFailed'})
    }
    if (human) this.log(`\n${c.green('✓')} Demo complete: app → relay → agent → on-premises service, in ${result.steps.reduce((n, s) => n + s.durationMs, 0)} ms of commands.`)
    return result
  }
}
