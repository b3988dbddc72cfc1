import {strict as assert} from 'node:assert'
import {chmodSync, mkdtempSync, readdirSync, statSync} from 'node:fs'
import {connect, createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type Emulator, type EmulatorSecretKind, type SeedFile, startEmulator} from '../../src/emulator/index.js'
import {type CliResult, runCli} from '../helpers/cli.js'
import {count, startCli} from './helpers.js'
import {type Secret, secretOf, secretsIn} from './secrets.js'

/**
 * The secrets sweep (issue 12, item 7): the commands the integration suite uses, run as real
 * processes against one emulator, once with --verbose and once with --debug --json, with an
 * agent and a forward carrying one tunnel. The emulator reports every secret it issued (keys
 * of every rule before and after rotation, the SAS tokens the clients presented, the bearer
 * tokens it signed, its principals' client secrets); none may appear, whole or in part, in
 * any captured stdout, stderr, agent or forward log or the emulator's own log, except on the
 * stdout of the commands that exist to print one, which must print exactly that one.
 */
const SEED: SeedFile = {
  resourceGroups: [{name: 'relay'}, {name: 'apps'}],
  plans: [{resourceGroup: 'apps', name: 'plan-std', sku: 'S1'}],
  sites: [
    {resourceGroup: 'apps', name: 'web-1', plan: 'plan-std'},
    {resourceGroup: 'apps', name: 'web-2', plan: 'plan-std'},
  ],
}

interface Captured {
  label: string
  text: string
  /** Only these secrets may appear (the command exists to print them); undefined = none. */
  allowed?: Secret[]
}

/** The `value` of each allowed secret, resolved once the run is over (they are all known then). */
type Expect = (secrets: Secret[]) => Secret[]

const modeFiles = (dir: string) => readdirSync(dir, {recursive: true, withFileTypes: true}).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))

describe('reliability: no secret reaches output or logs (--verbose and --debug)', function () {
  this.timeout(120_000)
  let emulator: Emulator
  let env: NodeJS.ProcessEnv
  let echo: Server
  let echoPort: number
  const stateDir = mkdtempSync(join(tmpdir(), 'hcctl-rel-secrets-'))
  const configDir = mkdtempSync(join(tmpdir(), 'hcctl-rel-secrets-config-'))
  const issued: Array<{kind: EmulatorSecretKind; value: string}> = []
  const emulatorLog: string[] = []
  const captured: Array<Captured & {expect?: Expect}> = []
  let commands = 0

  before(async () => {
    emulator = await startEmulator({stateDir, seed: SEED, onSecret: (kind, value) => issued.push({kind, value}), log: (l) => emulatorLog.push(l)})
    env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir, HCCTL_CONFIG_DIR: configDir}
    echo = createServer((s) => (s.on('error', () => {}), s.pipe(s)))
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r))
    echoPort = (echo.address() as {port: number}).port
  })
  after(async () => {
    echo?.close()
    await emulator?.stop()
  })

  async function run(args: string[], options: {expect?: Expect; ok?: boolean} = {}): Promise<CliResult> {
    const r = await runCli(args, {env, timeoutMs: 60_000})
    commands++
    if (options.ok !== false) assert.equal(r.code, 0, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`)
    assert.doesNotMatch(r.stderr, /probably a bug/, args.join(' '))
    captured.push({label: `${args.join(' ')} (stdout)`, text: r.stdout, ...(options.expect ? {expect: options.expect} : {})})
    captured.push({label: `${args.join(' ')} (stderr)`, text: r.stderr})
    return r
  }

  const keyOf = (ns: string, hc: string, rule: string, which: 'primaryKey' | 'secondaryKey' = 'primaryKey') => {
    const n = emulator.state.data.namespaces.find((x) => x.name === ns)!
    return n.hybridConnections.find((h) => h.name === hc)!.rules.find((r) => r.name === rule)![which]
  }
  const only = (...values: string[]): Expect => (secrets) => values.map((v) => {
    const s = secrets.find((x) => x.value === v)
    assert.ok(s, `the expected secret is one the emulator issued`)
    return s
  })

  /** One pass over every command with these output flags. */
  async function pass(ns: string, flags: string[]): Promise<void> {
    const rel = ['--namespace', ns, '-g', 'relay']
    const arm = `/subscriptions/{subscriptionId}/resourceGroups/relay/providers/Microsoft.Relay/namespaces/${ns}`
    // Provisioning, in the order a user would.
    await run(['create', 'db', ...rel, '--create-namespace', '--endpoint', 'db.corp:1433', '--app', 'web-1', '--app-resource-group', 'apps', ...flags])
    await run(['attach', 'db', '--namespace', ns, '--app', 'web-2', '-g', 'apps', '--relay-resource-group', 'relay', ...flags])
    await run(['endpoint', 'set', 'db', ...rel, '--endpoint', `127.0.0.1:${echoPort}`, ...flags])
    // Reads, and the commands that exist to print a secret (which must print exactly that one).
    const listener = keyOf(ns, 'db', 'defaultListener')
    const [sender, senderSecondary] = [keyOf(ns, 'db', 'defaultSender'), keyOf(ns, 'db', 'defaultSender', 'secondaryKey')]
    const reads: Array<[string[], Expect?]> = [
      [['list', ...rel]],
      [['list', '--app', 'web-1', '-g', 'apps']],
      [['show', 'db', ...rel]],
      [['show', 'db', ...rel, '--show-secrets'], only(listener)],
      [['connection-string', 'db', ...rel], only(listener)],
      [['connection-string', 'db', ...rel, '--rule', 'defaultSender', '--secondary'], only(senderSecondary)],
      [['arm', 'get', `${arm}/hybridConnections/db/authorizationRules?api-version=2021-11-01`]],
      [['arm', 'post', `${arm}/hybridConnections/db/authorizationRules/defaultSender/listKeys?api-version=2021-11-01`], only(sender, senderSecondary)],
      [['export', '--app', 'web-1', '-g', 'apps']],
      [['token', '--decode']],
      [['tcpping', `127.0.0.1:${echoPort}`, '-n', '1']],
    ]
    await Promise.all(reads.map(([args, expect]) => run([...args, ...flags], expect ? {expect} : {})))
    const token = await run(['token', ...flags])
    const printed = flags.includes('--json') ? token.json<{accessToken: string}>().accessToken : token.stdout.trim()
    captured.at(-2)!.expect = only(printed)
    await run(['arm', 'put', `${arm}/hybridConnections/db/authorizationRules/extra?api-version=2021-11-01`, '{"properties":{"rights":["Listen"]}}', ...flags])
    await run(['keys', 'rotate', 'db', ...rel, ...flags])

    // The data plane: an agent and a forward by ARM name, one tunnel through them.
    const agent = startCli(['agent', 'db', ...rel, '--drain-timeout', '1s', ...flags], env)
    const forward = startCli(['forward', 'db', ...rel, '--local', '127.0.0.1:0', ...flags], env)
    try {
      await agent.waitFor(/listening/)
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(await forward.waitFor(/Forwarding 127\.0\.0\.1:\d+|"local"/))![1])
      const echoed = await new Promise<string>((resolve, reject) => {
        const s = connect({host: '127.0.0.1', port}, () => s.write('secret-sweep'))
        s.setEncoding('utf8').once('data', (d: string) => (s.end(), resolve(d)))
        s.on('error', reject)
      })
      assert.equal(echoed, 'secret-sweep')
      // Diagnostics with the agent listening.
      await Promise.all([
        run(['check', 'db', ...rel, ...flags], {ok: false}),
        run(['relay', 'test', 'db', ...rel, '--count', '2', '--bulk', '0', '--connections', '1', ...flags], {ok: false}),
      ])
    } finally {
      for (const [name, p] of [['agent', agent], ['forward', forward]] as const) {
        await p.stop('SIGINT')
        commands++
        captured.push({label: `${name} ${flags.join(' ')} (stdout)`, text: p.stdout()}, {label: `${name} ${flags.join(' ')} (stderr)`, text: p.stderr()})
      }
    }
    await run(['disconnect', 'db', '--namespace', ns, '--app', 'web-2', '-g', 'apps', '--relay-resource-group', 'relay', '--yes', ...flags])
    await run(['disconnect', 'db', '--namespace', ns, '--app', 'web-1', '-g', 'apps', '--relay-resource-group', 'relay', '--delete-relay', '--yes', ...flags])
  }

  it('sweeps every command with --verbose, then with --debug --json, and finds no secret outside the commands that print one', async () => {
    await pass('sweep-verbose', ['--verbose'])
    await pass('sweep-debug', ['--debug', '--json'])
    captured.push({label: 'emulator log', text: emulatorLog.join('\n')})

    const byValue = new Map<string, Secret>()
    const {principals} = emulator.state.data
    for (const {kind, value} of issued) {
      if (byValue.has(value)) continue
      const clientId = kind === 'clientSecret' ? [principals.contributor, principals.reader].find((p) => p.clientSecret === value)?.clientId : undefined
      byValue.set(value, secretOf(kind, value, clientId ? {clientId} : {}))
    }
    const secrets = [...byValue.values()]
    const kinds = (k: EmulatorSecretKind) => secrets.filter((s) => s.kind === k).length
    // Every kind was issued: keys of all rules (before and after rotation), SAS tokens, bearer
    // tokens (one or few: the commands share a token cache, as a user's do).
    assert.ok(kinds('key') >= 2 * 8 && kinds('sas') >= 4 && kinds('bearer') >= 1 && kinds('clientSecret') === 2, JSON.stringify({key: kinds('key'), sas: kinds('sas'), bearer: kinds('bearer')}))

    const hits: string[] = []
    let bytes = 0
    for (const c of captured) {
      bytes += Buffer.byteLength(c.text)
      const found = secretsIn(c.text, secrets)
      const allowed = c.expect?.(secrets) ?? []
      for (const a of allowed) assert.ok(found.includes(a), `${c.label} does not print the ${a.kind} it exists to print`)
      for (const f of found.filter((x) => !allowed.includes(x))) hits.push(`${c.label}: a ${f.kind}`)
    }
    count(`secrets: ${commands} commands run, ${(bytes / 1024).toFixed(0)} KiB scanned, ${secrets.length} secrets searched (${kinds('key')} keys, ${kinds('sas')} SAS tokens, ${kinds('bearer')} bearer tokens, ${kinds('clientSecret')} client secrets), hits ${hits.length}`)
    assert.deepEqual(hits, [])
  })

  it('files hcctl writes are mode 0600: the token cache, and the emulator profile, state and keys (even over an older 0644 profile)', async () => {
    const cache = modeFiles(configDir)
    assert.ok(cache.length > 0, 'the sweep cached tokens')
    const emulatorFiles = ['profile.json', 'state.json', 'ca-key.pem', 'server-key.pem', 'token-key.pem'].map((f) => join(stateDir, f))
    // An emulator restarted on a state directory whose profile an older version left readable.
    await emulator.stop()
    chmodSync(join(stateDir, 'profile.json'), 0o644)
    emulator = await startEmulator({stateDir})
    const files = [...cache, ...emulatorFiles]
    const loose = files.filter((f) => (statSync(f).mode & 0o077) !== 0).map((f) => `${f} ${(statSync(f).mode & 0o777).toString(8)}`)
    assert.deepEqual(loose, [])
    for (const dir of [configDir, stateDir]) assert.equal(statSync(dir).mode & 0o077, 0, `${dir} is private`)
    count(`secret files: ${files.length} files checked, ${loose.length} readable by others`)
  })
})
