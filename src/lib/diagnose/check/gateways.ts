import type {CloudProfile} from '../../azure/clouds.js'
import {isHcctlError} from '../../errors.js'
import {type GatewaysResult, gateways} from '../gateways.js'
import {type CheckDefinition, fail, pass, warn} from './types.js'

/** What `net.gateways` needs; the probe runs once per namespace and is shared by its hybrid connections. */
export interface GatewayCheckContext {
  cloud: CloudProfile
  namespace: string
  timeoutMs: number
  signal?: AbortSignal
  gatewayProbe?: {stamp?: string; deadlineMs?: number; concurrency?: number; cache: Map<string, Promise<GatewaysResult>>}
}

const SHOWN = 10

export const netGateways: CheckDefinition<GatewayCheckContext> = {
  id: 'net.gateways',
  title: 'The stamp\'s gateways (G0-G127, GV0-GV127)',
  dependsOn: ['net.dns'],
  async run(c) {
    const o = c.gatewayProbe!
    const key = c.namespace.toLowerCase()
    let pending = o.cache.get(key)
    if (!pending) {
      pending = gateways({cloud: c.cloud, namespace: c.namespace, stamp: o.stamp, mode: 'probe', timeoutMs: Math.min(c.timeoutMs, 5000), deadlineMs: o.deadlineMs, concurrency: o.concurrency, signal: c.signal})
      o.cache.set(key, pending)
    }
    let r: GatewaysResult
    try {
      r = await pending
    } catch (error) {
      if (isHcctlError(error) && (error.code === 'StampNotFound' || error.code === 'StampLookupFailed')) {
        return warn([error.message], `${error.suggestions.join(' ')} Then: hcctl check ... --gateways --stamp STAMP.`)
      }
      throw error
    }
    const n = r.counts!
    const head = `stamp ${r.stamp} (${r.stampSource === 'flag' ? '--stamp' : `alias ${r.cnameChain.at(-1)}`}): ${n.reachable} of ${n.total} reachable, ${n.blocked} blocked${n.unknown ? `, ${n.unknown} not finished before the deadline` : ''}`
    const data = {stamp: r.stamp, counts: n, blocked: r.blocked}
    if (r.ok) return pass(head, data)
    const blocked = (r.gateways as Array<{name: string; status?: string; error?: string}>).filter((g) => g.status === 'blocked')
    const evidence = [head, ...blocked.slice(0, SHOWN).map((g) => `${g.name}: ${g.error}`), ...(blocked.length > SHOWN ? [`… and ${blocked.length - SHOWN} more (\`hcctl gateways ${c.namespace} --probe --format csv\`)`] : [])]
    const remedy = `The relay hands connections to any of the stamp's 256 gateways, so a firewall that allows only some gives intermittent failures. Allow ${r.wildcard} on TCP 443, or all 256 names: \`hcctl gateways ${c.namespace}${o.stamp ? ` --stamp ${o.stamp}` : ''} > allowlist.txt\`.`
    if (n.blocked === 0) return warn(evidence, `${remedy} Some probes did not finish in time; raise the deadline or re-run.`, data)
    return fail(evidence, remedy, data)
  },
}
