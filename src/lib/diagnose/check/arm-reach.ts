import type {ArmClient} from '../../azure/arm-types.js'
import {isHcctlError} from '../../errors.js'
import {redactText} from '../../output/redact.js'
import {type CheckDefinition, type CheckResult, fail, pass} from './types.js'

export interface ArmReachContext {
  arm: ArmClient
  subscriptionId: string
  /** The ARM endpoint's host, for the evidence. */
  armHost: string
  signal?: AbortSignal
}

/** Failures that mean "could not get there", not "got there and was refused". */
const NETWORK_CODES = new Set(['NetworkError', 'RequestTimeout', 'TlsError'])

/**
 * `net.arm`: the first check, before anything is read from ARM. One GET of the subscription
 * (signing in first): a network failure there (sign-in endpoint or ARM unreachable, dead proxy,
 * timeout, TLS) is reported here with the host, the cause and the proxy, and every other check
 * is skipped, instead of the first ARM read (`app.exists`, `config.relay-exists`) failing with
 * a network message. Any HTTP answer, or a sign-in that answered but refused, passes: the
 * network is fine, and the checks that need ARM report the refusal.
 */
export const netArm: CheckDefinition<ArmReachContext> = {
  id: 'net.arm',
  title: 'Azure Resource Manager is reachable',
  async run(c) {
    try {
      await c.arm.request({method: 'GET', path: `/subscriptions/${c.subscriptionId}`, signal: c.signal})
      return pass(`${c.armHost} answered`, {host: c.armHost})
    } catch (error) {
      if (c.signal?.aborted) throw error
      if (isHcctlError(error) && NETWORK_CODES.has(error.code)) {
        const proxy = /through the proxy (\S+?):? /.exec(error.message)?.[1]
        return fail(redactText(error.message), error.suggestions.join(' ') || 'Check the network and any proxy settings (HTTPS_PROXY / NO_PROXY).', {
          host: c.armHost,
          code: error.code,
          ...(proxy ? {proxy} : {}),
        })
      }
      const status = (error as {status?: unknown}).status
      return pass(`${c.armHost} answered${typeof status === 'number' ? ` ${status}` : ''} (the checks below say whether it lets us read)`, {host: c.armHost})
    }
  },
}

/** The results of checks that did not run because `because` failed. */
export function skippedBecause(definitions: Array<{id: string; title: string}>, because: string, target?: string): CheckResult[] {
  return definitions.map((d) => ({id: d.id, title: d.title, status: 'skip', evidence: [`skipped: ${because} failed`], ...(target ? {target} : {})}))
}
