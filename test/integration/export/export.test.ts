import {strict as assert} from 'node:assert'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {type Emulator, type SeedFile, startEmulator} from '../../../src/emulator/index.js'
import type {ExportResourceSummary, ExportResult} from '../../../src/lib/hybrid/export/index.js'
import type {ListResult} from '../../../src/lib/hybrid/list.js'
import {deployTemplate} from '../../helpers/arm-template.js'
import {runCli} from '../../helpers/cli.js'
import {call, expectOk} from '../emulator/helpers.js'

const GOLDEN = fileURLToPath(new URL('../../fixtures/export/', import.meta.url))
const RG = 'exp'
const METADATA_B = '[{"key":"endpoint","value":"api.corp.hcctl.test:8443"},{"key":"owner","value":"it\'s \\"ops\\" ${x} [1]"}]'
const BASE: SeedFile = {
  resourceGroups: [{name: RG, location: 'westeurope'}],
  plans: [{resourceGroup: RG, name: 'plan', sku: 'S1'}],
  sites: [{resourceGroup: RG, name: 'web', plan: 'plan', kind: 'app'}],
}
const SOURCE: SeedFile = {
  ...BASE,
  namespaces: [
    {resourceGroup: RG, name: 'exp-relay-a', hybridConnections: [{name: 'sql', endpoint: 'db01.corp.hcctl.test:1433', defaultRules: true}]},
    {resourceGroup: RG, name: 'exp-relay-b', hybridConnections: [{name: 'api', userMetadata: METADATA_B, defaultRules: true}]},
  ],
  attachments: [
    {resourceGroup: RG, site: 'web', namespace: 'exp-relay-a', hybridConnection: 'sql'},
    {resourceGroup: RG, site: 'web', namespace: 'exp-relay-b', hybridConnection: 'api'},
  ],
}

/** Resources, names and dependencies written in a Bicep file (parent: and symbol references). */
function bicepResources(text: string, params: Record<string, string>): ExportResourceSummary[] {
  const blocks = [...text.matchAll(/^resource (\w+) '([^@']+)@[^']+' = \{\n([\s\S]*?)^\}/gm)]
  const bySym = new Map<string, {type: string; name: string; parent?: string; refs: string[]}>()
  for (const [, sym, type, body] of blocks) {
    const name = /^ {2}name: '([^']*)'/m.exec(body!)![1]!.replace(/\$\{(\w+)\}/g, (_, p: string) => params[p]!)
    const parent = /^ {2}parent: (\w+)/m.exec(body!)?.[1]
    const refs = [...body!.matchAll(/\b(\w+)\.(?:id|listKeys\(\))/g)].map((m) => m[1]!)
    bySym.set(sym!, {type: type!, name, parent, refs})
  }
  const fullName = (sym: string): string => {
    const r = bySym.get(sym)!
    return r.parent ? `${fullName(r.parent)}/${r.name}` : r.name
  }
  return [...bySym].map(([sym, r]) => ({type: r.type, name: fullName(sym), dependsOn: [...new Set([...(r.parent ? [r.parent] : []), ...r.refs])].map((d) => `${bySym.get(d)!.type}/${fullName(d)}`)}))
}

const TF_TYPES: Record<string, string> = {
  azurerm_relay_namespace: 'Microsoft.Relay/namespaces',
  azurerm_relay_hybrid_connection: 'Microsoft.Relay/namespaces/hybridConnections',
  azurerm_relay_hybrid_connection_authorization_rule: 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules',
  azurerm_relay_namespace_authorization_rule: 'Microsoft.Relay/namespaces/authorizationRules',
}

/** Resources, names and dependencies of a Terraform file (references between resources). */
function terraformResources(text: string, app: string): ExportResourceSummary[] {
  const blocks = [...text.matchAll(/^resource "(\w+)" "(\w+)" \{\n([\s\S]*?)^\}/gm)]
  const byKey = new Map<string, {type: string; name: string; refs: string[]; parentRef?: string; parentId?: string}>()
  for (const [, tfType, sym, body] of blocks) {
    const type = tfType === 'azapi_resource' ? /^ {2}type += "([^@"]+)@/m.exec(body!)![1]! : TF_TYPES[tfType!]!
    const name = /^ {2}name += "([^"]*)"/m.exec(body!)![1]!
    const refs = [...new Set([...body!.matchAll(/(?<![.\w])(azurerm_\w+)\.(\w+)\./g)].map((m) => `${m[1]}.${m[2]}`))]
    const parentRef = (/^ {2}hybrid_connection_name += (azurerm_\w+\.\w+)\./m.exec(body!) ?? /^ {2}(?:relay_)?namespace_name += (azurerm_\w+\.\w+)\./m.exec(body!))?.[1]
    const parentId = /parent_id += "\$\{local\.app_id\}\/hybridConnectionNamespaces\/([^"]+)"/.exec(body!)?.[1]
    byKey.set(`${tfType}.${sym}`, {type, name, refs, parentRef, parentId})
  }
  const fullName = (key: string): string => {
    const r = byKey.get(key)!
    if (r.parentId) return `${app}/${r.parentId}/${r.name}`
    if (r.type === 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules') {
      const hcKey = /^ {2}hybrid_connection_name += (azurerm_\w+\.\w+)\./m.exec(text.split(`"${key.split('.')[1]}" {`)[1]!)![1]!
      return `${fullName(hcKey)}/${r.name}`
    }
    return r.parentRef ? `${fullName(r.parentRef)}/${r.name}` : r.name
  }
  return [...byKey].map(([key, r]) => ({type: r.type, name: fullName(key), dependsOn: r.refs.map((d) => `${byKey.get(d)!.type}/${fullName(d)}`)}))
}

const norm = (list: ExportResourceSummary[]) => list.map((r) => ({...r, dependsOn: [...r.dependsOn].sort()})).sort((a, b) => `${a.type}/${a.name}`.localeCompare(`${b.type}/${b.name}`))

describe('hcctl export (real processes; the ARM form deployed to an empty emulator)', function () {
  this.timeout(60_000)
  let source: Emulator
  let target: Emulator
  let env: NodeJS.ProcessEnv
  let keys: string[] = []
  const exported = new Map<string, ExportResult>()

  before(async () => {
    ;[source, target] = await Promise.all([startEmulator({inMemory: true, seed: SOURCE}), startEmulator({inMemory: true, seed: BASE})])
    env = {HCCTL_EMULATOR_STATE: source.stateDir}
    // exp-relay-b/api: the app holds the namespace's RootManageSharedAccessKey (Terraform's default), not a rule of the connection.
    const nsB = `/subscriptions/${source.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Relay/namespaces/exp-relay-b`
    const root = await expectOk(call(source, 'POST', `${nsB}/authorizationRules/RootManageSharedAccessKey/listKeys`))
    const site = `/subscriptions/${source.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/web/hybridConnectionNamespaces/exp-relay-b/relays/api`
    const current = await expectOk(call(source, 'GET', site))
    await expectOk(call(source, 'PUT', site, {body: {properties: {...current.json.properties, sendKeyName: 'RootManageSharedAccessKey', sendKeyValue: root.json.primaryKey}}}))
    const sender = await expectOk(call(source, 'POST', `/subscriptions/${source.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Relay/namespaces/exp-relay-a/hybridConnections/sql/authorizationRules/defaultSender/listKeys`))
    keys = [root.json.primaryKey, root.json.secondaryKey, sender.json.primaryKey, sender.json.secondaryKey]
    await Promise.all(
      ['arm', 'bicep', 'terraform'].map(async (format) => {
        const r = await runCli(['export', '--app', 'web', '--resource-group', RG, '--format', format, '--cloud', 'emulator', '--json'], {env})
        assert.equal(r.code, 0, r.stderr)
        exported.set(format, r.json<ExportResult>())
      }),
    )
  })

  after(async () => {
    await Promise.all([source.stop(), target.stop()])
  })

  it('the ARM form, deployed in dependency order to an empty emulator, recreates the same `hcctl list` rows', async () => {
    const arm = exported.get('arm')!
    const template = JSON.parse(arm.template)
    const deployed = await deployTemplate(template, {
      subscriptionId: target.subscriptionId,
      resourceGroup: RG,
      request: async (method, path, body) => {
        const r = await call(target, method, path, {body, apiVersion: null})
        return {status: r.status, json: r.json}
      },
    })
    assert.equal(deployed.order.length, template.resources.length)
    const before = await runCli(['list', '--app', 'web', '--resource-group', RG, '--cloud', 'emulator', '--json'], {env})
    const after = await runCli(['list', '--app', 'web', '--resource-group', RG, '--cloud', 'emulator', '--json'], {env: {HCCTL_EMULATOR_STATE: target.stateDir}})
    assert.equal(after.code, 0, after.stderr)
    const rows = (r: typeof before) => r.json<ListResult>().rows.sort((a, b) => a.hybridConnection.localeCompare(b.hybridConnection))
    assert.equal(rows(before).length, 2)
    assert.deepEqual(rows(after), rows(before))
  })

  it('userMetadata survives as the same JSON text, and the app holds the target\'s own current key (from listKeys)', async () => {
    const hc = await expectOk(call(target, 'GET', `/subscriptions/${target.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Relay/namespaces/exp-relay-b/hybridConnections/api`))
    assert.equal(hc.json.properties.userMetadata, METADATA_B)
    const plan = `/subscriptions/${target.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/serverfarms/plan`
    const appKey = await expectOk(call(target, 'POST', `${plan}/hybridConnectionNamespaces/exp-relay-a/relays/sql/listKeys`))
    const rule = await expectOk(call(target, 'POST', `/subscriptions/${target.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Relay/namespaces/exp-relay-a/hybridConnections/sql/authorizationRules/defaultSender/listKeys`))
    assert.equal(appKey.json.properties.sendKeyValue, rule.json.primaryKey)
    const rootKey = await expectOk(call(target, 'POST', `${plan}/hybridConnectionNamespaces/exp-relay-b/relays/api/listKeys`))
    const root = await expectOk(call(target, 'POST', `/subscriptions/${target.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Relay/namespaces/exp-relay-b/authorizationRules/RootManageSharedAccessKey/listKeys`))
    assert.equal(rootKey.json.properties.sendKeyValue, root.json.primaryKey)
  })

  it('no form carries a key of the source', () => {
    for (const [format, r] of exported) {
      for (const k of keys) assert.ok(!r.template.includes(k), `${format} contains a key`)
      assert.doesNotMatch(r.template, /SharedAccessKey=/)
    }
  })

  it('Bicep and Terraform match their golden files and carry the ARM form\'s resources, names and dependencies', () => {
    const arm = exported.get('arm')!
    const armTemplate = JSON.parse(arm.template) as {resources: Array<{type: string; name: string; dependsOn?: string[]}>}
    // The ARM form itself: names (appName substituted) and dependsOn as type/name keys.
    const fromArm = armTemplate.resources.map((r) => ({
      type: r.type,
      name: r.name.replace(/^\[concat\(parameters\('appName'\), '([^']*)'\)\]$/, 'web$1'),
      dependsOn: (r.dependsOn ?? []).map((d) => {
        const m = /^\[resourceId\('([^']+)', (.*)\)\]$/.exec(d)!
        return `${m[1]}/${m[2]!.split(', ').map((s) => s.slice(1, -1)).join('/')}`
      }),
    }))
    assert.deepEqual(norm(fromArm), norm(arm.resources))
    assert.deepEqual(norm(bicepResources(exported.get('bicep')!.template, {appName: 'web'})), norm(arm.resources))
    assert.deepEqual(norm(terraformResources(exported.get('terraform')!.template, 'web')), norm(arm.resources))
    assert.equal(arm.resources.length, 10, 'two namespaces, two connections, their four rules, two app relays (RootManageSharedAccessKey comes with the namespace)')
    for (const [format, file] of [['arm', 'web.json'], ['bicep', 'web.bicep'], ['terraform', 'web.tf']] as const) {
      const text = exported.get(format)!.template
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(join(GOLDEN, file), text)
      assert.equal(text, readFileSync(join(GOLDEN, file), 'utf8'), `${format} differs from test/fixtures/export/${file} (UPDATE_GOLDEN=1 rewrites it)`)
    }
  })

  it('the JSON-in-a-string is encoded per language: ARM [[ escape, Bicep string, Terraform jsonencode', () => {
    assert.match(exported.get('arm')!.template, /"userMetadata": "\[\[\{\\"key\\":\\"endpoint\\",\\"value\\":\\"db01\.corp\.hcctl\.test:1433\\"\}\]"/)
    assert.match(exported.get('bicep')!.template, /userMetadata: '\[\{"key":"endpoint","value":"db01\.corp\.hcctl\.test:1433"\}\]'/)
    assert.match(exported.get('terraform')!.template, /user_metadata += jsonencode\(\[\n +\{ key = "endpoint", value = "db01\.corp\.hcctl\.test:1433" \},\n +\]\)/)
    assert.match(exported.get('bicep')!.template, /sendKeyValue: exp_relay_a_sql_defaultSender\.listKeys\(\)\.primaryKey/)
    assert.match(exported.get('terraform')!.template, /sendKeyValue += data\.azurerm_relay_namespace_authorization_rule\.exp_relay_b_RootManageSharedAccessKey\.primary_key/)
  })

  it('--output writes the file whole; an unwritable path is exit 2 and leaves nothing; a missing app is exit 4', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcctl-export-'))
    try {
      const file = join(dir, 'web.bicep')
      const ok = await runCli(['export', '--app', 'web', '-g', RG, '--format', 'bicep', '--output', file, '--cloud', 'emulator'], {env})
      assert.equal(ok.code, 0, ok.stderr)
      assert.equal(ok.stdout, '')
      assert.equal(readFileSync(file, 'utf8'), exported.get('bicep')!.template)
      const bad = await runCli(['export', '--app', 'web', '-g', RG, '--output', join(dir, 'missing', 'x.json'), '--cloud', 'emulator', '--json'], {env})
      assert.equal(bad.code, 2, bad.stdout)
      assert.equal(bad.json<{error: {code: string}}>().error.code, 'OutputNotWritable')
      assert.deepEqual(readdirSync(dir), ['web.bicep'])
      assert.equal(existsSync(join(dir, 'missing')), false)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
    const missing = await runCli(['export', '--app', 'nope', '-g', RG, '--cloud', 'emulator', '--json'], {env})
    assert.equal(missing.code, 4, missing.stdout)
  })
})
