import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {emulatorStateDir} from '../../lib/azure/clouds.js'
import {ConflictError, UsageError} from '../../lib/errors.js'

export interface EmulatorStartResult {
  ready: boolean
  armUrl: string
  authorityHost: string
  relayUrl: string
  relaySuffix: string
  relayAddress: {host: string; port: number}
  stateDir: string
  profilePath: string
  caPath: string
  inMemory: boolean
  tenantId: string
  subscriptionId: string
  contributorClientId: string
  readerClientId: string
}

export default class EmulatorStart extends BaseCommand<typeof EmulatorStart> {
  static override summary = 'Run the local emulator of ARM, the token service and the relay in the foreground.'
  static override description = `Serves HTTPS on 127.0.0.1 with its own CA: Azure Resource Manager (subscriptions, resource groups, Microsoft.Relay, the hybrid-connection parts of Microsoft.Web), an OAuth2 token service with a Contributor and a Reader principal, and the relay data plane. When ready it prints one line (or one JSON object with --json) and writes STATE/profile.json, so \`--cloud emulator\` works in every other command (set HCCTL_EMULATOR_STATE when STATE is not the default ~/.hcctl/emulator or HCCTL_CONFIG_DIR/emulator). Ctrl-C or SIGTERM stops it with the state saved.

--in-memory keeps the ARM state in memory only; the profile and the certificates still go to the state directory.
--faults takes a comma-separated list, e.g. arm.429=2,arm.5xx=1,arm.latency=200ms,relay.dropListeners=all,relay.refuseRendezvous=503,relay.stallRendezvous=true,relay.expireTokensEarly=30; seeded random answers with arm.rate429=0.3,arm.rate503=0.1,arm.seed=7, only for some methods with arm.on=write; an ARM that refuses tokens early with arm.expireTokensEarly=S; listeners refused or dropped on a schedule with relay.failListen=N and relay.dropListenersEvery=2s. Every key: docs/emulator.md (Faults); change them while it runs: POST /emulator/admin/faults.`
  static override examples = [
    '<%= config.bin %> emulator start',
    '<%= config.bin %> emulator start --state ./.emulator --seed demo --port 8443',
    'HCCTL_EMULATOR_STATE=/tmp/emu <%= config.bin %> emulator start --in-memory --faults arm.429=2,arm.latency=100ms --json',
  ]

  static override flags = {
    port: Flags.integer({description: 'TCP port on 127.0.0.1 (0 = any free port).', default: 0, min: 0, max: 65535}),
    state: Flags.string({description: 'State directory: profile.json, certificates, state.json. Default: HCCTL_EMULATOR_STATE, else HCCTL_CONFIG_DIR/emulator, else ~/.hcctl/emulator.'}),
    'in-memory': Flags.boolean({description: 'Keep the ARM state in memory only (nothing of it is read or saved).', default: false}),
    seed: Flags.string({description: 'Create resources at start: "demo" or a seed JSON file (see the README).'}),
    faults: Flags.string({description: 'Inject faults: e.g. arm.429=2,arm.latency=200ms,relay.refuseRendezvous=503.'}),
    'page-size': Flags.integer({description: 'Items per page of ARM lists (small values force nextLink paging).', min: 1}),
    'lro-polls': Flags.integer({description: 'GETs before a new namespace or plan reports provisioningState Succeeded.', min: 0}),
  }

  private readyPrinted = false

  async run(): Promise<EmulatorStartResult> {
    const {flags} = this
    const {startEmulator, parseFaultSpec} = await import('../../emulator/index.js')
    if (flags.faults) {
      try {
        parseFaultSpec(flags.faults)
      } catch (error) {
        throw new UsageError(`--faults: ${(error as Error).message}.`, {code: 'InvalidFaultSpec', suggestions: ['Example: --faults arm.429=2,arm.latency=200ms,relay.refuseRendezvous=503']})
      }
    }
    const stateDir = flags.state ?? emulatorStateDir()
    const {emulatorStatus} = await import('../../emulator/control.js')
    const running = await emulatorStatus(stateDir, 1000)
    if (running.running) {
      throw new ConflictError(`An emulator (pid ${running.pid}) already runs on ${stateDir} at ${running.armUrl}.`, {
        code: 'EmulatorAlreadyRunning',
        suggestions: ['Use it (`--cloud emulator`), stop it with `hcctl emulator stop`, or give this one another --state.'],
      })
    }
    const logger = this.logger()
    let emulator
    try {
      emulator = await startEmulator({
        port: flags.port,
        stateDir,
        inMemory: flags['in-memory'],
        seed: flags.seed,
        faults: flags.faults,
        pageSize: flags['page-size'],
        lroPolls: flags['lro-polls'],
        log: (line) => logger.verbose(`emulator: ${line}`),
      })
    } catch (error) {
      const e = error as NodeJS.ErrnoException
      if (e.code === 'EADDRINUSE') throw new UsageError(`Port ${flags.port} on 127.0.0.1 is in use.`, {code: 'PortInUse', suggestions: ['Pick another --port, or --port 0 for any free port.']})
      if (e.name === 'SeedError' || e.name === 'FaultSpecError') throw new UsageError(e.message, {code: e.name})
      if (/state file/.test(e.message ?? '')) throw new UsageError(e.message, {code: 'InvalidEmulatorState'})
      throw error
    }
    const result: EmulatorStartResult = {
      ready: true,
      armUrl: emulator.armUrl,
      authorityHost: emulator.authorityHost,
      relayUrl: `wss://${emulator.relayAddress.host}:${emulator.relayAddress.port}`,
      relaySuffix: emulator.relaySuffix,
      relayAddress: emulator.relayAddress,
      stateDir: emulator.stateDir,
      profilePath: emulator.profilePath,
      caPath: emulator.caPath,
      inMemory: emulator.inMemory,
      tenantId: emulator.tenantId,
      subscriptionId: emulator.subscriptionId,
      contributorClientId: emulator.principals.contributor.clientId,
      readerClientId: emulator.principals.reader.clientId,
    }
    if (this.jsonEnabled()) {
      this.logJson(this.toSuccessJson(result))
    } else {
      this.log(`emulator ready: arm=${result.armUrl} relay=${result.relayUrl} state=${result.stateDir}`)
      process.stderr.write(`  profile ${result.profilePath}${result.inMemory ? ' (ARM state in memory only)' : ''}; use --cloud emulator${flags.state ? ` with HCCTL_EMULATOR_STATE=${result.stateDir}` : ''}. Ctrl-C stops.\n`)
    }
    this.readyPrinted = true
    if (!this.abort.signal.aborted) await new Promise((resolve) => this.abort.signal.addEventListener('abort', resolve, {once: true}))
    await emulator.stop()
    logger.verbose('emulator: stopped, state saved')
    return result
  }

  /** The ready object was printed already; do not print a second one on exit. */
  public override logJson(json: unknown): void {
    if (this.readyPrinted) return
    super.logJson(json)
  }
}
