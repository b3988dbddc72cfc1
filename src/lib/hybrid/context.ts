import type {ArmClient} from '../azure/arm-types.js'
import {AuthError, ConflictError, type HcctlError, HcctlError as HcctlErrorClass, NotFoundError, exitCodeForStatus, isHcctlError} from '../errors.js'
import {redactText, redactValue} from '../output/redact.js'
import type {PlannedCall, ProvisioningOutcome, Step} from './model.js'
import {statusOf, type RelayPort} from './relay-port.js'

/** Everything a provisioning use-case needs; built by the command from the Azure context. */
export interface HybridContext {
  arm: ArmClient
  relay: RelayPort
  subscriptionId: string
  /** The cloud's relay DNS suffix with its dot, e.g. `.servicebus.windows.net`. */
  relaySuffix: string
  dryRun?: boolean
  signal?: AbortSignal
  /** Warnings for people (stderr); they also land in the result. */
  warn?: (message: string) => void
  /** Progress lines (stderr, verbose). */
  progress?: (message: string) => void
  /** Bound on parallel ARM reads (default 8). */
  concurrency?: number
}

/**
 * One run of a use-case: collects what was found, changed and left alone, and in a dry run
 * records the writes instead of making them.
 */
export class Run {
  readonly steps: Step[] = []
  readonly warnings: string[] = []
  readonly plannedCalls: PlannedCall[] = []

  constructor(readonly ctx: HybridContext) {}

  get dryRun(): boolean {
    return Boolean(this.ctx.dryRun)
  }

  warn(message: string): void {
    if (this.warnings.includes(message)) return
    this.warnings.push(message)
    this.ctx.warn?.(message)
  }

  progress(message: string): void {
    this.ctx.progress?.(message)
  }

  unchanged(resource: string, id: string, detail?: string): void {
    this.steps.push({resource, id, action: 'none', status: 'unchanged', ...(detail ? {detail} : {})})
  }

  /** Makes (or, in a dry run, records) one write. Returns undefined in a dry run. */
  async write<T>(step: Omit<Step, 'status'>, call: PlannedCall, perform: () => Promise<T>): Promise<T | undefined> {
    if (this.dryRun) {
      this.plannedCalls.push({method: call.method, path: call.path, ...(call.body === undefined ? {} : {body: redactValue(call.body)})})
      this.steps.push({...step, status: 'planned'})
      return undefined
    }
    this.progress(`${step.action} ${step.resource}`)
    const result = await perform()
    this.steps.push({...step, status: 'done'})
    return result
  }

  outcome(): ProvisioningOutcome {
    return {
      dryRun: this.dryRun,
      changed: this.steps.some((s) => s.status !== 'unchanged'),
      steps: this.steps,
      warnings: this.warnings,
      ...(this.dryRun ? {plannedCalls: this.plannedCalls} : {}),
    }
  }
}

const LIST_KEYS_PERMISSION = 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules/listKeys/action'

/**
 * Turns a remote failure into a typed error that says what we were doing. 403 on a key
 * listing explains the listKeys permission (product docs, "Secure your Hybrid Connections").
 */
export function explain(error: unknown, doing: string, options: {listKeys?: boolean; suggestions?: string[]} = {}): HcctlError {
  const status = statusOf(error)
  const original = error as {message?: string; code?: string}
  const detail = redactText(String(original?.message ?? error)).split('\n')[0]!.slice(0, 300)
  if (status === 401) {
    // Authentication, not permission: the token was refused (expired, revoked, wrong audience).
    return new AuthError(`Azure refused the sign-in while ${doing}: ${detail}`, {
      code: original?.code ?? 'AuthenticationFailed',
      suggestions: ['Sign in again (`az login`), or check the token passed with --access-token / HCCTL_ACCESS_TOKEN (it may have expired).', ...(options.suggestions ?? [])],
      cause: error,
    })
  }
  if (status === 403) {
    if (options.listKeys) {
      return new AuthError(`Not allowed to list the keys while ${doing}: the signed-in principal lacks ${LIST_KEYS_PERMISSION}.`, {
        code: 'ListKeysForbidden',
        suggestions: [
          `Grant a role with ${LIST_KEYS_PERMISSION} on the hybrid connection (Contributor, or a custom role); Reader can see hybrid connections but not attach them or read their keys.`,
          ...(options.suggestions ?? []),
        ],
        cause: error,
      })
    }
    return new AuthError(`Not allowed while ${doing}: ${detail}`, {code: 'AuthorizationFailed', suggestions: ['Ask for Contributor (or a role with write access) on the resource, or sign in as another principal.', ...(options.suggestions ?? [])], cause: error})
  }
  if (isHcctlError(error)) return error
  if (status === 404) return new NotFoundError(`Not found while ${doing}: ${detail}`, {suggestions: options.suggestions ?? [], cause: error})
  if (status === 409) return new ConflictError(`Conflict while ${doing}: ${detail}`, {suggestions: options.suggestions ?? [], cause: error})
  if (status !== undefined) {
    return new HcctlErrorClass(`Azure answered ${status} while ${doing}: ${detail}`, exitCodeForStatus(status, original?.code), {
      code: original?.code ?? `Http${status}`,
      suggestions: options.suggestions ?? [],
      cause: error,
    })
  }
  return new HcctlErrorClass(`Failed while ${doing}: ${detail}`, 1, {code: 'Unexpected', cause: error})
}

/** Runs `fn` and explains its failure. */
export async function doing<T>(what: string, fn: () => Promise<T>, options: {listKeys?: boolean; suggestions?: string[]} = {}): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw explain(error, what, options)
  }
}

/** Maps over items with at most `limit` in flight, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({length: Math.min(Math.max(1, limit), items.length)}, worker))
  return out
}
