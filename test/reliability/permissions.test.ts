import {strict as assert} from 'node:assert'
import {connect} from 'node:net'

import {type Emulator, startEmulator} from '../../src/emulator/index.js'
import {createSasToken} from '../../src/lib/relay/sas.js'
import {runCli} from '../helpers/cli.js'
import {count, SEED, startCli} from './helpers.js'
import {secretOf, secretsIn} from './secrets.js'

/**
 * The permissions matrix (issue 12, item 8), against the emulator's relay and ARM as real
 * processes: each refusal has Azure's status (401 for a bad, expired or misdirected token,
 * 403 for a missing right or role), hcctl's message for it, exit 5, no secret in the output,
 * and the emulator's state byte-identical before and after (the pattern of the provisioning
 * refusals: JSON of the whole state).
 */
describe('reliability: permissions matrix (relay and ARM refusals change nothing)', function () {
  this.timeout(120_000)
  let emulator: Emulator
  let env: NodeJS.ProcessEnv
  let readerEnv: NodeJS.ProcessEnv
  let readerToken: string
  const armLog: string[] = []
  let tried = 0
  let refused = 0
  let unchanged = 0
  const rel = ['--namespace', 'contoso-relay', '-g', 'relay']
  const host = 'contoso-relay.servicebus.localhost'

  before(async () => {
    // The emulator's log names the status of every ARM answer (→ 403): what Azure would answer.
    emulator = await startEmulator({inMemory: true, seed: {...SEED, attachments: [{resourceGroup: 'apps', site: 'web-1', namespace: 'contoso-relay', hybridConnection: 'sql'}]}, log: (l) => armLog.push(l)})
    env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir}
    const {token} = emulator.tokens.issue({principal: emulator.state.data.principals.reader, audience: emulator.profile.armAudience})
    readerToken = token
    readerEnv = {...env, HCCTL_ACCESS_TOKEN: token, AZURE_SUBSCRIPTION_ID: emulator.subscriptionId}
  })
  after(async () => {
    await emulator?.stop()
    count(`permissions: ${tried} cases tried, ${refused} refused as expected, state unchanged after ${unchanged}`)
  })

  const rule = (hc: string | undefined, name: string) => {
    const ns = emulator.state.data.namespaces[0]!
    return (hc === undefined ? ns.rules : ns.hybridConnections.find((h) => h.name === hc)!.rules).find((r) => r.name === name)!
  }
  const cs = (entity: string, auth: string) => `Endpoint=sb://${host}/;${auth};EntityPath=${entity}`
  const keyAuth = (hc: string, name: string, key = rule(hc, name).primaryKey) => `SharedAccessKeyName=${name};SharedAccessKey=${key}`
  /** A SAS token as a connection string carries it; `ageSeconds` back-dates it (an hour-old 60-second token has expired). */
  const sasAuth = (resource: string, ruleName: string, key: string, ageSeconds = 0) =>
    `SharedAccessSignature=${createSasToken({resourceUri: `http://${host}/${resource}`, keyName: ruleName, key, ttlSeconds: ageSeconds ? 60 : 3600, now: () => Date.now() - ageSeconds * 1000})}`

  /** Every secret in the state, to check that no refusal prints one. */
  const stateSecrets = () =>
    emulator.state.data.namespaces
      .flatMap((n) => [...n.rules, ...n.hybridConnections.flatMap((h) => h.rules)])
      .flatMap((r) => [r.primaryKey, r.secondaryKey])
      .map((k) => secretOf('key', k))
      .concat(readerToken ? [secretOf('bearer', readerToken)] : [])

  /** Runs `attempt`, asserts it was refused as expected and that the state did not move. */
  async function refusal(attempt: () => Promise<{code: number | null; output: string}>, expected: {code: number; status: number; message: RegExp}): Promise<void> {
    tried++
    const before = JSON.stringify(emulator.state.data)
    const {code, output} = await attempt()
    assert.equal(code, expected.code, output)
    assert.match(output, new RegExp(`\\b${expected.status}\\b`), `status ${expected.status} in:\n${output}`)
    assert.match(output, expected.message)
    assert.doesNotMatch(output, /\n\s+at |probably a bug/, 'no stack trace, no "bug"')
    assert.deepEqual(secretsIn(output, stateSecrets()).map((s) => s.kind), [], 'no key in the refusal')
    refused++
    assert.equal(JSON.stringify(emulator.state.data), before, 'the state changed')
    unchanged++
  }

  const agentWith = (connectionString: string) => async () => {
    const r = await runCli(['agent', '--connection-string', connectionString, '--drain-timeout', '1s'], {env, timeoutMs: 30_000})
    return {code: r.code, output: `${r.stdout}\n${r.stderr}`}
  }

  /** A forward refused at start (a 401: the token itself) exits; one whose key lacks Send logs each refused connection and keeps serving. */
  const forwardWith = (connectionString: string) => async () => {
    const fwd = startCli(['forward', '--connection-string', connectionString, '--local', '127.0.0.1:0', '--connect-timeout', '5s'], env)
    try {
      const started = await Promise.race([fwd.waitFor(/Forwarding 127\.0\.0\.1:\d+/).catch(() => undefined), fwd.exited])
      if (typeof started !== 'string') return {code: (await fwd.exited).code, output: `${fwd.stdout()}\n${fwd.stderr()}`}
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(await fwd.waitFor(/Forwarding 127\.0\.0\.1:\d+/))![1])
      await new Promise<void>((resolve) => {
        const s = connect({host: '127.0.0.1', port})
        s.on('error', () => {})
        s.on('close', () => resolve())
      })
      const line = await fwd.waitFor(/result.*failed|failed/)
      const {code} = await fwd.stop('SIGINT')
      assert.equal(code, 0, 'the forward itself stops cleanly')
      return {code: 5, output: `${line}\n${fwd.stdout()}\n${fwd.stderr()}`}
    } finally {
      await fwd.stop('SIGKILL')
    }
  }

  describe('relay', () => {
    const cases: Array<[string, () => () => Promise<{code: number | null; output: string}>, number, RegExp]> = [
      ['a wrong key, to listen', () => agentWith(cs('sql', keyAuth('sql', 'defaultListener', Buffer.alloc(32, 7).toString('base64')))), 401, /key does not match the rule \(wrong or rotated key\)/],
      ['a wrong key, to send', () => forwardWith(cs('sql', keyAuth('sql', 'defaultSender', Buffer.alloc(32, 7).toString('base64')))), 401, /key does not match the rule/],
      ['an expired SAS token', () => agentWith(cs('sql', sasAuth('sql', 'defaultListener', rule('sql', 'defaultListener').primaryKey, 3600))), 401, /the token has expired/],
      ['a SAS token for another hybrid connection', () => agentWith(cs('sql', sasAuth('other', 'RootManageSharedAccessKey', rule(undefined, 'RootManageSharedAccessKey').primaryKey))), 401, /signed for another hybrid connection/],
      ['a rule the hybrid connection does not have', () => agentWith(cs('sql', keyAuth('other', 'defaultListener').replace('defaultListener', 'nosuchRule'))), 401, /rule named in SharedAccessKeyName does not exist/],
      ['a Send-only key used to listen', () => agentWith(cs('sql', keyAuth('sql', 'defaultSender'))), 403, /rule lacks the Listen right/],
      ['a Listen-only key used to send', () => forwardWith(cs('sql', keyAuth('sql', 'defaultListener'))), 403, /rule lacks the Send right/],
    ]
    for (const [what, attempt, status, message] of cases) {
      it(`refuses ${what} with ${status} (exit 5)`, async () => refusal(attempt(), {code: 5, status, message}))
    }
  })

  describe('ARM: the Reader principal on every write and on listKeys', () => {
    const arm = '/subscriptions/{subscriptionId}/resourceGroups/relay/providers/Microsoft.Relay/namespaces/contoso-relay'
    const cases: Array<[string, string[]]> = [
      ['create', ['create', 'new-hc', ...rel, '--endpoint', 'db9.corp:1433']],
      ['create --create-namespace', ['create', 'new-hc', '--namespace', 'reader-ns', '-g', 'relay', '--create-namespace', '--endpoint', 'db9.corp:1433']],
      ['attach', ['attach', 'other', '--namespace', 'contoso-relay', '--app', 'web-1', '-g', 'apps', '--relay-resource-group', 'relay']],
      ['disconnect', ['disconnect', 'sql', '--namespace', 'contoso-relay', '--app', 'web-1', '-g', 'apps', '--relay-resource-group', 'relay', '--yes']],
      ['disconnect --delete-relay', ['disconnect', 'sql', '--namespace', 'contoso-relay', '--app', 'web-1', '-g', 'apps', '--relay-resource-group', 'relay', '--delete-relay', '--yes']],
      ['endpoint set', ['endpoint', 'set', 'sql', ...rel, '--endpoint', 'db9.corp:1433']],
      ['keys rotate', ['keys', 'rotate', 'sql', ...rel]],
      ['connection-string (listKeys)', ['connection-string', 'sql', ...rel]],
      ['show --show-secrets (listKeys)', ['show', 'sql', ...rel, '--show-secrets']],
      ['relay test --scratch', ['relay', 'test', '--scratch', ...rel]],
      ['relay test (listKeys)', ['relay', 'test', 'sql', ...rel]],
      ['arm post listKeys', ['arm', 'post', `${arm}/hybridConnections/sql/authorizationRules/defaultListener/listKeys?api-version=2021-11-01`]],
      ['arm post regenerateKeys', ['arm', 'post', `${arm}/hybridConnections/sql/authorizationRules/defaultListener/regenerateKeys?api-version=2021-11-01`, '{"keyType":"PrimaryKey"}']],
      ['arm put', ['arm', 'put', `${arm}/hybridConnections/reader-hc?api-version=2021-11-01`, '{"properties":{"requiresClientAuthorization":true}}']],
      ['arm patch', ['arm', 'patch', `${arm}?api-version=2021-11-01`, '{"tags":{"by":"reader"}}']],
      ['arm delete', ['arm', 'delete', `${arm}/hybridConnections/other?api-version=2021-11-01`]],
    ]
    for (const [what, args] of cases) {
      it(`refuses ${what} with 403 AuthorizationFailed (exit 5)`, async () =>
        refusal(
          async () => {
            const from = armLog.length
            const r = await runCli([...args, '--json'], {env: readerEnv})
            const answers = armLog.slice(from).filter((l) => /^ARM (PUT|PATCH|POST|DELETE) /.test(l))
            assert.ok(answers.length > 0 && answers.every((l) => / → 403 /.test(l)), `every write was answered 403:\n${answers.join('\n')}`)
            return {code: r.code, output: `${r.stdout}\n${r.stderr}\n${answers.join('\n')}`}
          },
          {code: 5, status: 403, message: /"code":"(AuthorizationFailed|ListKeysForbidden)".*(does not have authorization|lacks Microsoft\.Relay\/namespaces\/hybridConnections\/authorizationRules\/listKeys\/action)/},
        ))
    }
  })
})
