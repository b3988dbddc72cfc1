import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {type AddressInfo, createServer, type Server} from 'node:net'

import {type Emulator, type SeedFile, startEmulator} from '../../../src/emulator/index.js'
import type {CheckRunResult} from '../../../src/lib/diagnose/check/index.js'
import {Agent} from '../../../src/lib/relay/agent.js'
import {credentialsFromKey} from '../../../src/lib/relay/credentials.js'
import {transportFromCloud} from '../../../src/lib/relay/transport.js'
import {runCli} from '../../helpers/cli.js'
import {type ConnectProxy, startConnectProxy} from '../../helpers/connect-proxy.js'
import {call, expectOk, tokenFor} from '../emulator/helpers.js'

const RG = 'diag'
const NS = 'diag-relay'
const ENDPOINT = 'db01.corp.hcctl.test:1433'

/** One app per scenario, each with its own hybrid connection, so scenarios do not disturb each other. */
const SCENARIOS = ['healthy', 'noagent', 'ipaddr', 'nometa', 'badmeta', 'drift', 'stalekey', 'down', 'skew'] as const
const SEED: SeedFile = {
  resourceGroups: [{name: RG, location: 'westeurope'}],
  plans: [
    {resourceGroup: RG, name: 'std-plan', sku: 'S1'},
    {resourceGroup: RG, name: 'free-plan', sku: 'F1'},
  ],
  sites: [...SCENARIOS.map((s) => ({resourceGroup: RG, name: `app-${s}`, plan: 'std-plan', kind: 'app'})), {resourceGroup: RG, name: 'app-free', plan: 'free-plan', kind: 'app'}],
  namespaces: [
    {
      resourceGroup: RG,
      name: NS,
      hybridConnections: SCENARIOS.map((s) => ({name: `hc-${s}`, endpoint: s === 'ipaddr' ? '10.20.30.40:1433' : ENDPOINT, defaultRules: true})),
    },
  ],
  attachments: SCENARIOS.map((s) => ({resourceGroup: RG, site: `app-${s}`, namespace: NS, hybridConnection: `hc-${s}`})),
}

type Check = CheckRunResult['checks'][number]

describe('hcctl check (real process against the emulator, with real agents and TCP servers)', function () {
  this.timeout(60_000)
  let emu: Emulator
  let echo: Server
  let echoPort: number
  let closedPort: number
  let proxy: ConnectProxy
  let proxyUrl: string
  const agents: Agent[] = []
  let env: NodeJS.ProcessEnv

  const relayPath = (hc: string) => `/subscriptions/${emu.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Relay/namespaces/${NS}/hybridConnections/${hc}`
  const sitePath = (app: string) => `/subscriptions/${emu.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${app}`

  async function startAgent(hc: string, port: number): Promise<void> {
    const keys = await expectOk(call(emu, 'POST', `${relayPath(hc)}/authorizationRules/defaultListener/listKeys`))
    const agent = new Agent({
      hybridConnections: [
        {credentials: credentialsFromKey({host: `${NS}${emu.relaySuffix}`, entity: hc, keyName: 'defaultListener', key: keys.json.primaryKey}), endpoint: {host: '127.0.0.1', port}},
      ],
      transport: transportFromCloud(emu.profile),
      drainTimeoutMs: 200,
      hostname: 'agent-box-1',
    })
    await agent.start()
    agents.push(agent)
  }

  async function check(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{code: number | null; body: CheckRunResult; stderr: string; byId: (id: string) => Check}> {
    const r = await runCli(['check', ...args, '--cloud', 'emulator', '--timeout', '5s', '--json'], {env: {...env, ...extraEnv}, timeoutMs: 50_000})
    const body = r.json<CheckRunResult>()
    const byId = (id: string) => {
      const found = body.checks.find((c) => c.id === id)
      assert.ok(found, `no check ${id} in ${body.checks.map((c) => c.id).join(', ')}`)
      return found
    }
    return {code: r.code, body, stderr: r.stderr, byId}
  }

  const app = (s: string) => ['--app', `app-${s}`, '--resource-group', RG]
  /** Runs of the failure scenarios, started together in `before` (each is a process of ~2 s). */
  const runs = new Map<string, ReturnType<typeof check>>()
  const scenario = (s: string, extraEnv?: NodeJS.ProcessEnv) => {
    if (!runs.has(s)) runs.set(s, check(app(s), extraEnv))
    return runs.get(s)!
  }

  before(async () => {
    emu = await startEmulator({inMemory: true, seed: SEED})
    env = {HCCTL_EMULATOR_STATE: emu.stateDir}
    echo = createServer((s) => s.pipe(s)).listen(0, '127.0.0.1')
    await once(echo, 'listening')
    echoPort = (echo.address() as AddressInfo).port
    const closed = createServer().listen(0, '127.0.0.1')
    await once(closed, 'listening')
    closedPort = (closed.address() as AddressInfo).port
    closed.close()
    await once(closed, 'close')
    // A CONNECT proxy, so that the healthy path exercises the proxied WebSocket check too.
    proxy = await startConnectProxy()
    proxyUrl = proxy.url

    // Two agents on the healthy connection (redundancy), one on the others that need an agent.
    await startAgent('hc-healthy', echoPort)
    await startAgent('hc-healthy', echoPort)
    for (const s of ['ipaddr', 'nometa', 'badmeta', 'drift', 'stalekey', 'skew']) await startAgent(`hc-${s}`, echoPort)
    await startAgent('hc-down', closedPort)

    // Break each scenario through ARM, the way it happens in the field.
    await expectOk(call(emu, 'PUT', relayPath('hc-nometa'), {body: {properties: {requiresClientAuthorization: true, userMetadata: ''}}}))
    await expectOk(call(emu, 'PUT', relayPath('hc-badmeta'), {body: {properties: {requiresClientAuthorization: true, userMetadata: 'db01.corp.hcctl.test:1433'}}}))
    const drifted = await expectOk(call(emu, 'GET', `${sitePath('app-drift')}/hybridConnectionNamespaces/${NS}/relays/hc-drift`))
    await expectOk(call(emu, 'PUT', `${sitePath('app-drift')}/hybridConnectionNamespaces/${NS}/relays/hc-drift`, {body: {properties: {...drifted.json.properties, hostname: 'db02.corp.hcctl.test', port: 1433, sendKeyValue: (await expectOk(call(emu, 'POST', `${relayPath('hc-drift')}/authorizationRules/defaultSender/listKeys`))).json.primaryKey}}}))
    await expectOk(call(emu, 'POST', `${relayPath('hc-stalekey')}/authorizationRules/defaultSender/regenerateKeys`, {body: {keyType: 'PrimaryKey'}}))
    await expectOk(call(emu, 'POST', `${relayPath('hc-stalekey')}/authorizationRules/defaultSender/regenerateKeys`, {body: {keyType: 'SecondaryKey'}}))
    // Start the failure scenarios in parallel, four at a time; the tests below read their results.
    const pending = failures.map(([, s, , , , extra]) => () => scenario(s, extra?.env).catch(() => undefined))
    pending.push(() => scenario('free').catch(() => undefined))
    await Promise.all(Array.from({length: 4}, async () => {
      for (let next = pending.shift(); next; next = pending.shift()) await next()
    }))
  })

  after(async () => {
    // Agent.stop() can wait on a tunnel whose sender is gone; the emulator's stop closes them anyway.
    await Promise.all(agents.map((a) => Promise.race([a.stop(), new Promise((r) => setTimeout(r, 1000).unref())])))
    echo.close()
    await proxy.close()
    await emu.stop()
  })

  it('the healthy path: every check passes (round trip echoed through two agents, proxy path included), exit 0', async () => {
    const r = await check([...app('healthy'), '--send', 'hello hcctl', '--expect', '^hello hcctl$'], {HTTPS_PROXY: proxyUrl, NO_PROXY: '127.0.0.1'})
    const notPassed = r.body.checks.filter((c) => c.status !== 'pass')
    assert.deepEqual(notPassed.map((c) => `${c.id}: ${c.evidence.join('; ')}`), [])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.body.ok, true)
    assert.deepEqual(r.body.subject.hybridConnections, [`${NS}/hc-healthy`])
    for (const id of ['app.exists', 'app.plan-eligible', 'app.plan-limit', 'config.metadata', 'config.endpoint-match', 'keys.match', 'listener.connected', 'listener.redundancy', 'net.tls', 'net.websocket-proxy', 'net.clock', 'roundtrip.connect', 'roundtrip.probe']) {
      assert.equal(r.byId(id).status, 'pass', id)
    }
    assert.match(r.byId('roundtrip.connect').evidence[0]!, /^4\/4 accepted \(100%\) with the app's own key/, '2 × listenerCount attempts by default')
    assert.doesNotMatch(JSON.stringify(r.body) + r.stderr, /SharedAccessKey=|"sendKeyValue":"[^"]|sig=/, 'no secrets in the output')
  })

  it('the people table: ✓ lines, no remedies section when healthy', async () => {
    const r = await runCli(['check', ...app('healthy'), '--cloud', 'emulator'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^✓ listener\.connected +An agent is listening +listenerCount 2$/m)
    assert.doesNotMatch(r.stdout, /What to do/)
  })

  const failures: Array<[title: string, scenario: string, id: string, remedy: RegExp, evidence?: RegExp, extra?: {env?: NodeJS.ProcessEnv}]> = [
    ['no agent', 'noagent', 'listener.connected', /hcctl agent hc-noagent --namespace diag-relay --resource-group diag/, /listenerCount 0: no agent is connected/],
    ['endpoint with an IP address', 'ipaddr', 'config.endpoint-host', /Use a DNS name that the agent host resolves/, /uses an IP address/],
    ['metadata missing', 'nometa', 'config.metadata', /hcctl endpoint set hc-nometa --namespace diag-relay --resource-group diag --endpoint HOST:PORT/, /no userMetadata/],
    ['metadata malformed', 'badmeta', 'config.metadata', /hcctl endpoint set hc-badmeta/, /not JSON/],
    ['app host:port drifted from the relay', 'drift', 'config.endpoint-match', /hcctl endpoint set hc-drift/, /app db02\.corp\.hcctl\.test:1433, relay db01\.corp\.hcctl\.test:1433/],
    ['stale key after a regenerate', 'stalekey', 'keys.match', /hcctl keys rotate hc-stalekey --namespace diag-relay --resource-group diag/, /matches neither current key/],
    ['endpoint down behind a running agent (the agent\'s reason shown)', 'down', 'roundtrip.connect', /agent cannot reach the endpoint/, /HTTP 502 .*ECONNREFUSED 127\.0\.0\.1:\d+ from agent on host agent-box-1/],
    ['clock skew (15 minutes ahead)', 'skew', 'net.clock', /Synchronise this machine's clock/, /this machine is 9\d\d s ahead of the relay/, {env: {HCCTL_CLOCK_OFFSET: '900'}}],
  ]

  for (const [title, name, id, remedy, evidence] of failures) {
    it(`names the broken hop: ${title} -> ${id}, with its remedy, exit 3`, async () => {
      const r = await scenario(name)
      const failed = r.body.checks.filter((c) => c.status === 'fail')
      assert.equal(failed[0]?.id, id, `first failure: ${failed.map((c) => `${c.id}: ${c.evidence.join('; ')}`).join(' | ')}`)
      assert.match(r.byId(id).remedy ?? '', remedy)
      if (evidence) assert.match(r.byId(id).evidence.join('\n'), evidence)
      assert.equal(r.code, 3, r.stderr)
      assert.equal(r.body.ok, false)
    })
  }

  it('ineligible plan (Free): app.plan-eligible fails with the scale-up remedy, exit 3', async () => {
    const r = await scenario('free')
    assert.equal(r.byId('app.plan-eligible').status, 'fail')
    assert.match(r.byId('app.plan-eligible').evidence.join('\n'), /Free/)
    assert.match(r.byId('app.plan-eligible').remedy!, /Scale the plan up to Basic, Standard, Premium or Isolated/)
    assert.equal(r.byId('app.plan-limit').status, 'skip')
    assert.equal(r.code, 3)
  })

  it('a failed layer skips its dependants with the reason (no agent -> round trip skipped)', async () => {
    const r = await scenario('noagent')
    assert.equal(r.byId('roundtrip.connect').status, 'skip')
    assert.deepEqual(r.byId('roundtrip.connect').evidence, ['skipped: listener.connected failed'])
    assert.equal(r.byId('listener.redundancy').status, 'skip')
  })

  it('Reader principal: keys.match is skipped naming the listKeys permission; nothing fails, exit 0', async () => {
    const r = await check([...app('healthy'), '--access-token', tokenFor(emu, 'reader')])
    assert.equal(r.byId('keys.match').status, 'skip')
    assert.match(r.byId('keys.match').evidence.join('\n'), /Microsoft\.Relay\/namespaces\/hybridConnections\/authorizationRules\/listKeys\/action/)
    assert.deepEqual(r.byId('roundtrip.connect').evidence, ['skipped: keys.match was skipped'])
    assert.equal(r.byId('listener.connected').status, 'pass')
    assert.equal(r.code, 0, JSON.stringify(r.body.checks.filter((c) => c.status === 'fail')))
  })

  it('warnings pass unless --strict (one agent: no redundancy)', async () => {
    const lenient = await check(app('skew'))
    assert.deepEqual(lenient.body.checks.filter((c) => c.status === 'warn' || c.status === 'fail').map((c) => c.id), ['listener.redundancy'])
    assert.match(lenient.byId('listener.redundancy').remedy!, /Run a second agent on another machine/)
    assert.equal(lenient.code, 0)
    const strict = await check([...app('skew'), '--strict'])
    assert.equal(strict.code, 3)
    assert.equal(strict.body.ok, false)
  })

  it('without --app: the relay side, a Send rule for the round trip, and the table with remedies for people', async () => {
    const r = await runCli(['check', 'hc-noagent', '--namespace', NS, '--resource-group', RG, '--cloud', 'emulator'], {env})
    assert.equal(r.code, 3, r.stderr)
    assert.match(r.stdout, /^Hybrid connection diag-relay\/hc-noagent$/m)
    assert.match(r.stdout, /^✗ listener\.connected /m)
    assert.match(r.stdout, /^What to do$/m)
    assert.match(r.stdout, /^✗ listener\.connected \(diag-relay\/hc-noagent\): Start an agent/m)
    assert.match(r.stdout, /- FAILED$/m)
  })

  it('usage errors: nothing to check, bad --expect', async () => {
    const nothing = await runCli(['check', '--resource-group', RG, '--cloud', 'emulator'], {env})
    assert.equal(nothing.code, 2)
    assert.match(nothing.stderr, /Say what to check/)
    const regex = await runCli(['check', ...app('healthy'), '--send', 'x', '--expect', '(', '--cloud', 'emulator'], {env})
    assert.equal(regex.code, 2)
  })
})
