import {Flags, type Command} from '@oclif/core'

import type {HybridContext} from '../lib/hybrid/context.js'
import type {ProvisioningOutcome, Step} from '../lib/hybrid/model.js'
import {relayPortFromArm} from '../lib/hybrid/relay-port.js'
import {BaseCommand} from './base-command.js'
import {azureFlags} from './flags.js'

/** Flags shared by the provisioning commands (issue 5). */
export const provisioningFlags = {
  ...azureFlags,
  'resource-group': Flags.string({char: 'g', description: 'Resource group (of the relay, or of the app for app commands).', env: 'HCCTL_RESOURCE_GROUP', required: true}),
}

export const namespaceFlag = Flags.string({description: 'Relay namespace name.', required: true, env: 'HCCTL_NAMESPACE'})
export const appFlag = Flags.string({description: 'App Service (web or function) app name.'})
export const slotFlag = Flags.string({description: 'Deployment slot of the app (default: production).', dependsOn: ['app']})
export const relayGroupFlag = Flags.string({description: 'Resource group of the relay namespace when it differs from --resource-group.'})
export const appGroupFlag = Flags.string({description: 'Resource group of the app when it differs from --resource-group.'})
export const dryRunFlag = Flags.boolean({description: 'Print the planned calls and bodies (keys redacted) and write nothing.'})
export const strictFlag = Flags.boolean({description: 'Treat an IP address or localhost endpoint as an error instead of a warning.'})

/** A base for commands that provision: builds the use-case context from the Azure context. */
export abstract class ProvisioningCommand<T extends typeof Command> extends BaseCommand<T> {
  /**
   * `cleanup: true` gives a context whose calls do not stop on Ctrl+C: for removing what the
   * command made (a scratch resource) after an interrupt.
   */
  protected async hybrid(options: {dryRun?: boolean; cleanup?: boolean} = {}): Promise<HybridContext> {
    const azure = await this.azure(undefined, options.cleanup ? {unabortable: true} : undefined)
    const logger = this.logger()
    this.showProgress('reading from Azure Resource Manager')
    const relay = relayPortFromArm(azure.arm, azure.subscriptionId, options.cleanup ? undefined : this.abort.signal)
    return {
      arm: azure.arm,
      relay,
      subscriptionId: azure.subscriptionId,
      relaySuffix: azure.cloud.relaySuffix,
      dryRun: options.dryRun,
      signal: this.abort.signal,
      warn: (m) => logger.warn(m),
      progress: (m) => {
        logger.verbose(m)
        this.showProgress(m)
      },
    }
  }

  /** Asks a yes/no question on a TTY; off a TTY it refuses (pass --yes). */
  protected async confirm(question: string): Promise<boolean> {
    if (!process.stdin.isTTY || !process.stderr.isTTY) return false
    ;(await this.spinner()).pause()
    const {createInterface} = await import('node:readline/promises')
    const rl = createInterface({input: process.stdin, output: process.stderr})
    // On a terminal readline takes Ctrl+C itself: it is the same interrupt as a SIGINT.
    rl.on('SIGINT', () => process.emit('SIGINT', 'SIGINT'))
    try {
      const answer = await rl.question(`${question} [y/N] `, {signal: this.abort.signal})
      return /^y(es)?$/i.test(answer.trim())
    } finally {
      rl.close()
    }
  }

  /** Prints what was found, changed and left alone (people only). */
  protected renderOutcome(outcome: ProvisioningOutcome, headline?: string): void {
    if (this.jsonEnabled()) return
    const c = this.color
    if (headline) this.log(headline)
    for (const s of outcome.steps) this.log(`  ${mark(s, c)} ${describe(s)}`)
    if (outcome.dryRun) {
      this.log(c.bold('\nDry run: nothing was written. Planned calls:'))
      for (const call of outcome.plannedCalls ?? []) {
        this.log(`  ${call.method} ${call.path}`)
        if (call.body !== undefined) this.log(`    ${JSON.stringify(call.body)}`)
      }
    } else if (!outcome.changed) {
      this.log('Nothing to change: everything is already as asked.')
    }
  }
}

function mark(s: Step, c: {green: (t: string) => string; yellow: (t: string) => string; dim: (t: string) => string}): string {
  if (s.status === 'done') return c.green('✓')
  if (s.status === 'planned') return c.yellow('~')
  return c.dim('=')
}

function describe(s: Step): string {
  const past: Record<Step['action'], string> = {create: 'created', update: 'updated', delete: 'deleted', 'regenerate-key': 'regenerated a key of', none: 'unchanged'}
  const future: Record<Step['action'], string> = {create: 'would create', update: 'would update', delete: 'would delete', 'regenerate-key': 'would regenerate a key of', none: 'unchanged'}
  // An app's hybrid connection resource is the attachment, not the app: "deleted app X" would
  // read as if the app itself were gone.
  const attachment: Partial<Record<Step['action'], [string, string]>> = {create: ['attached', 'would attach'], update: ['updated the attachment of', 'would update the attachment of'], delete: ['detached', 'would detach']}
  const forApp = s.resource.startsWith('app ') ? attachment[s.action] : undefined
  const text = forApp ? forApp[s.status === 'planned' ? 1 : 0] : s.status === 'planned' ? future[s.action] : past[s.action]
  const detail = forApp && s.detail ? s.detail.replace(/^detached /, '') : s.detail
  return forApp && s.action === 'delete' && detail ? `${text} ${s.resource} ${detail}` : `${text} ${s.resource}${detail ? ` (${detail})` : ''}`
}
