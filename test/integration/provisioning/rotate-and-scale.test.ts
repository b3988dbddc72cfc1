import {strict as assert} from 'node:assert'
import {once} from 'node:events'

import {type Emulator, type SeedFile, startEmulator} from '../../../src/emulator/index.js'
import {credentialsFromKey} from '../../../src/lib/relay/credentials.js'
import {type AcceptRequest, RelayListener} from '../../../src/lib/relay/listener.js'
import {connectSender} from '../../../src/lib/relay/sender.js'
import {transportFromCloud} from '../../../src/lib/relay/transport.js'
import {runCli} from '../../helpers/cli.js'

describe('keys rotate leaves every app working (forward through the relay with each app\'s key)', function () {
  this.timeout(60_000)
  const seed: SeedFile = {
    resourceGroups: [{name: 'rot'}],
    plans: [
      {resourceGroup: 'rot', name: 'std', sku: 'S1'},
      {resourceGroup: 'rot', name: 'prem', sku: 'P1v3'},
    ],
    sites: [
      {resourceGroup: 'rot', name: 'a1', plan: 'std', slots: ['stage']},
      {resourceGroup: 'rot', name: 'a2', plan: 'std'},
      {resourceGroup: 'rot', name: 'a3', plan: 'prem'},
    ],
    namespaces: [{resourceGroup: 'rot', name: 'rot-relay', hybridConnections: [{name: 'svc', endpoint: 'svc.corp:8080', defaultRules: true}]}],
    attachments: [
      {resourceGroup: 'rot', site: 'a1', namespace: 'rot-relay', hybridConnection: 'svc'},
      {resourceGroup: 'rot', site: 'a1', slot: 'stage', namespace: 'rot-relay', hybridConnection: 'svc'},
      {resourceGroup: 'rot', site: 'a2', namespace: 'rot-relay', hybridConnection: 'svc'},
      {resourceGroup: 'rot', site: 'a3', namespace: 'rot-relay', hybridConnection: 'svc'},
    ],
  }
  let emulator: Emulator
  let listener: RelayListener
  let env: NodeJS.ProcessEnv

  before(async () => {
    emulator = await startEmulator({inMemory: true, seed})
    env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir}
    const rule = hcRule('defaultListener')
    listener = new RelayListener({
      credentials: credentialsFromKey({host: `rot-relay${emulator.relaySuffix}`, entity: 'svc', keyName: 'defaultListener', key: rule.primaryKey}),
      transport: transportFromCloud(emulator.profile),
    })
    listener.on('accept', (request: AcceptRequest) => {
      void request.accept().then((ws) => ws.on('message', (data) => ws.send(data)))
    })
    await listener.start()
  })

  after(async () => {
    await listener?.stop()
    await emulator?.stop()
  })

  function hcRule(name: string) {
    const hc = emulator.state.data.namespaces.find((n) => n.name === 'rot-relay')!.hybridConnections.find((h) => h.name === 'svc')!
    return hc.rules.find((r) => r.name === name)!
  }

  /** Every app and slot with the key it holds. */
  function appKeys(): Array<{app: string; key: string}> {
    return emulator.state.data.sites.flatMap((s) => [
      ...s.hybridConnections.map((h) => ({app: s.name, key: h.sendKeyValue})),
      ...s.slots.flatMap((slot) => slot.hybridConnections.map((h) => ({app: `${s.name}/${slot.name}`, key: h.sendKeyValue}))),
    ])
  }

  async function forward(key: string, text: string): Promise<string> {
    const {ws} = await connectSender({cloud: emulator.profile, namespace: 'rot-relay', entity: 'svc', keyName: 'defaultSender', key, timeoutMs: 10_000})
    try {
      ws.send(Buffer.from(text))
      const [data] = (await once(ws, 'message')) as [Buffer]
      return data.toString()
    } finally {
      ws.close()
    }
  }

  it('works before, rotates in the safe order with --dry-run first, and works after with the new primary only', async () => {
    const before = appKeys()
    assert.equal(before.length, 4)
    for (const a of before) assert.equal(await forward(a.key, `before ${a.app}`), `before ${a.app}`)

    const snapshot = JSON.stringify(emulator.state.data)
    const dry = await runCli(['keys', 'rotate', 'svc', '--namespace', 'rot-relay', '-g', 'rot', '--dry-run', '--json'], {env})
    assert.equal(dry.code, 0, dry.stderr)
    assert.equal(dry.json<{plannedCalls: unknown[]}>().plannedCalls.length, 10) // 4 apps, regenerate, 4 apps, regenerate
    assert.equal(JSON.stringify(emulator.state.data), snapshot)

    const old = {primary: hcRule('defaultSender').primaryKey, secondary: hcRule('defaultSender').secondaryKey}
    const r = await runCli(['keys', 'rotate', 'svc', '--namespace', 'rot-relay', '-g', 'rot', '--json'], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const body = r.json<{apps: Array<{app: string; slot?: string; verified: boolean}>}>()
    assert.deepEqual(body.apps.map((a) => `${a.app}${a.slot ? `/${a.slot}` : ''}:${a.verified}`).sort(), ['a1/stage:true', 'a1:true', 'a2:true', 'a3:true'])
    for (const key of [old.primary, old.secondary]) assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key))

    const rule = hcRule('defaultSender')
    assert.notEqual(rule.primaryKey, old.primary)
    assert.notEqual(rule.secondaryKey, old.secondary)
    const after = appKeys()
    for (const a of after) {
      assert.equal(a.key, rule.primaryKey, `${a.app} holds the current primary`)
      assert.equal(await forward(a.key, `after ${a.app}`), `after ${a.app}`)
    }
    await assert.rejects(forward(old.primary, 'old key'), (e: Error & {code?: string}) => /Unauthorized|401|403/i.test(`${e.code} ${e.message}`))
  })
})

describe('list at subscription scope scales with plans and namespaces, not apps', function () {
  this.timeout(60_000)
  const PLANS = 20
  const APPS_PER_PLAN = 15
  const NAMESPACES = 4
  let emulator: Emulator
  const lines: string[] = []

  before(async () => {
    const seed: SeedFile = {
      resourceGroups: [{name: 'big'}, {name: 'relays'}],
      plans: Array.from({length: PLANS}, (_, p) => ({resourceGroup: 'big', name: `plan-${p}`, sku: 'S1'})),
      sites: Array.from({length: PLANS * APPS_PER_PLAN}, (_, i) => ({resourceGroup: 'big', name: `app-${i}`, plan: `plan-${i % PLANS}`})),
      namespaces: Array.from({length: NAMESPACES}, (_, n) => ({resourceGroup: 'relays', name: `scale-ns-${n}`, hybridConnections: [{name: 'db', endpoint: `db${n}.corp:1433`, defaultRules: true}]})),
      // Each plan uses the hybrid connection of one namespace, shared by its 15 apps.
      attachments: Array.from({length: PLANS * APPS_PER_PLAN}, (_, i) => ({resourceGroup: 'big', site: `app-${i}`, namespace: `scale-ns-${(i % PLANS) % NAMESPACES}`, hybridConnection: 'db'})),
    }
    emulator = await startEmulator({inMemory: true, seed, log: (line) => lines.push(line)})
  })

  after(async () => {
    await emulator?.stop()
  })

  it(`lists ${PLANS * APPS_PER_PLAN} apps on ${PLANS} plans with plans + (plan, connection) pairs + namespaces + 2 ARM requests`, async () => {
    lines.length = 0
    const r = await runCli(['list', '--json'], {env: {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emulator.stateDir}})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const rows = r.json<{rows: Array<{app: string; namespace: string}>}>().rows
    assert.equal(rows.length, PLANS * APPS_PER_PLAN)
    assert.equal(new Set(rows.map((x) => x.app)).size, PLANS * APPS_PER_PLAN)
    const arm = lines.filter((l) => /^ARM (GET|POST|PUT|DELETE|PATCH) \/subscriptions\//.test(l))
    const pairs = PLANS // one connection per plan
    // 1 plan list + one hybridConnectionRelays per plan + one `sites` per (plan, connection)
    // + 1 namespace list + one hybrid connection list per namespace (for the unattached ones)
    const bound = 1 + PLANS + pairs + 1 + NAMESPACES
    assert.ok(arm.length <= bound, `${arm.length} ARM requests > ${bound}:\n${arm.join('\n')}`)
    assert.ok(!arm.some((l) => /\/sites\/app-\d+/.test(l)), 'no call per app')
  })
})
