import {randomBytes} from 'node:crypto'

import {type CloudProfile, relayHost} from '../azure/clouds.js'
import {NotFoundError, UsageError} from '../errors.js'
import {doing} from '../hybrid/context.js'
import type {RelayPort} from '../hybrid/relay-port.js'
import {credentialsFromConnectionString, credentialsFromKey, type HybridConnectionCredentials} from '../relay/credentials.js'
import {isRelayError} from '../relay/errors.js'
import {relayTest, type RelayTestOptions, type RelayTestResult} from './relay-test.js'

export interface RelayTestInput extends Omit<RelayTestOptions, 'listen' | 'send' | 'listenerCountBefore'> {
  /** ARM: the hybrid connection (or, with scratch, only the namespace). */
  arm?: {
    relay: RelayPort
    resourceGroup: string
    namespace: string
    name?: string
    scratch?: boolean
    /** Removes the scratch hybrid connection; not bound to the run's signal, so it works after Ctrl+C (default `relay`). */
    cleanupRelay?: RelayPort
  }
  /** Told what the run removed on its way out (for the interrupt's one line). */
  onCleanedUp?: (what: string) => void
  /** Or one connection string with Listen and Send, or two (one Listen, one Send; any order). */
  connectionStrings?: string[]
}

export interface RelayTestRun extends RelayTestResult {
  /** The temporary hybrid connection, with --scratch (created and deleted by the run). */
  scratch?: {name: string; deleted: boolean}
}

const SCRATCH_RULE = 'hcctl-relay-test'

/** Resolves credentials (ARM, scratch or connection strings), runs the test, cleans up. */
export async function runRelayTest(input: RelayTestInput): Promise<RelayTestRun> {
  if (input.connectionStrings?.length) return fromConnectionStrings(input, input.connectionStrings, input.cloud)
  const a = input.arm
  if (!a) throw new UsageError('Give a hybrid connection with --namespace and --resource-group, --scratch, or --connection-string.', {code: 'NothingToTest'})
  if (a.scratch) return scratch(input, a)
  if (!a.name) throw new UsageError('Name the hybrid connection to test, or pass --scratch to test on a temporary one.', {code: 'MissingHybridConnection'})
  const hc = await a.relay.getHybridConnection(a.resourceGroup, a.namespace, a.name)
  if (!hc) throw new NotFoundError(`No hybrid connection ${a.name} in namespace ${a.namespace} (resource group ${a.resourceGroup}).`, {code: 'HybridConnectionNotFound'})
  const rules = await a.relay.listRules(a.resourceGroup, a.namespace, a.name)
  const both = rules.find((r) => r.rights.includes('Manage') || (r.rights.includes('Listen') && r.rights.includes('Send')))
  const listenRule = both ?? rules.find((r) => r.rights.includes('Listen'))
  const sendRule = both ?? rules.find((r) => r.rights.includes('Send'))
  if (!listenRule || !sendRule) {
    throw new UsageError(`${a.namespace}/${a.name} needs rules with the Listen and Send rights (it has ${rules.map((r) => `${r.name} [${r.rights.join(', ')}]`).join('; ') || 'none'}).`, {
      code: 'MissingRules',
      suggestions: ['`hcctl attach` creates defaultSender and `hcctl connection-string` defaultListener; or run with --scratch.'],
    })
  }
  const host = relayHost(input.cloud, a.namespace)
  const key = async (rule: string) => (await doing(`listing the keys of ${rule} on ${a.namespace}/${a.name}`, () => a.relay.listKeys(a.resourceGroup, a.namespace, a.name!, rule), {listKeys: true})).primaryKey
  const listen = credentialsFromKey({host, entity: a.name, keyName: listenRule.name, key: await key(listenRule.name)})
  const send = sendRule === listenRule ? listen : credentialsFromKey({host, entity: a.name, keyName: sendRule.name, key: await key(sendRule.name)})
  return relayTest({...input, listen, send, listenerCountBefore: hc.listenerCount})
}

async function scratch(input: RelayTestInput, a: NonNullable<RelayTestInput['arm']>): Promise<RelayTestRun> {
  const name = `hcctl-test-${randomBytes(4).toString('hex')}`
  if (!(await a.relay.getNamespace(a.resourceGroup, a.namespace))) {
    throw new NotFoundError(`No relay namespace ${a.namespace} in resource group ${a.resourceGroup}.`, {
      code: 'NamespaceNotFound',
      suggestions: ['Check the names; `hcctl create ... --create-namespace` creates one.'],
    })
  }
  input.progress?.(`creating the temporary hybrid connection ${a.namespace}/${name}`)
  // A refusal (a Reader, say) is an authorization error that says what was being done, not a bug.
  await doing(`creating the temporary hybrid connection ${a.namespace}/${name}`, () => a.relay.putHybridConnection(a.resourceGroup, a.namespace, name, {requiresClientAuthorization: true}))
  let deleted = false
  try {
    await doing(`creating the rule ${SCRATCH_RULE} on ${a.namespace}/${name}`, () => a.relay.putRule(a.resourceGroup, a.namespace, name, SCRATCH_RULE, ['Listen', 'Send']))
    const keys = await doing(`listing the keys of ${SCRATCH_RULE} on ${a.namespace}/${name}`, () => a.relay.listKeys(a.resourceGroup, a.namespace, name, SCRATCH_RULE), {listKeys: true})
    const creds = credentialsFromKey({host: relayHost(input.cloud, a.namespace), entity: name, keyName: SCRATCH_RULE, key: keys.primaryKey})
    const result = await relayTest({...input, listen: creds, send: creds, listenerCountBefore: 0})
    await a.relay.deleteHybridConnection(a.resourceGroup, a.namespace, name)
    deleted = true
    return {...result, scratch: {name, deleted}}
  } finally {
    if (!deleted) {
      // Every way out (a failure, Ctrl+C) removes it, with a port the interrupt did not abort.
      const port = a.cleanupRelay ?? a.relay
      await port.deleteHybridConnection(a.resourceGroup, a.namespace, name).then(
        () => input.onCleanedUp?.(`removed the temporary hybrid connection ${a.namespace}/${name}`),
        (error: unknown) => input.onCleanedUp?.(`could not remove the temporary hybrid connection ${a.namespace}/${name} (${(error as Error).message}); delete it with \`hcctl arm delete\``),
      )
    }
  }
}

async function fromConnectionStrings(input: RelayTestInput, strings: string[], cloud: CloudProfile): Promise<RelayTestRun> {
  if (strings.length > 2) throw new UsageError('Give one connection string (Listen and Send) or two (one Listen, one Send).', {code: 'TooManyConnectionStrings'})
  const creds: HybridConnectionCredentials[] = strings.map((cs) => credentialsFromConnectionString(cs, {cloud}))
  if (creds.length === 2 && (creds[0]!.host !== creds[1]!.host || creds[0]!.entity.toLowerCase() !== creds[1]!.entity.toLowerCase())) {
    throw new UsageError('The two connection strings are for different hybrid connections.', {code: 'ConnectionStringMismatch'})
  }
  const [first, second = first] = creds as [HybridConnectionCredentials, HybridConnectionCredentials?]
  try {
    const result = await relayTest({...input, listen: first, send: second ?? first})
    const sendRefused = result.connections.own === 0 && result.connections.errors.some((e) => e.includes('RelayUnauthorized'))
    if (second && second !== first && sendRefused) return relayTest({...input, listen: second, send: first})
    return result
  } catch (error) {
    // Two strings in the other order: the first one could not listen.
    if (second && second !== first && isRelayError(error, 'RelayUnauthorized')) return relayTest({...input, listen: second, send: first})
    throw error
  }
}
