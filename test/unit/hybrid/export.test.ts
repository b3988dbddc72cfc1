import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {armLiteral, renderArm} from '../../../src/lib/hybrid/export/arm.js'
import {bicepString, symbol} from '../../../src/lib/hybrid/export/bicep.js'
import type {ExportPlan} from '../../../src/lib/hybrid/export/model.js'
import {summarize} from '../../../src/lib/hybrid/export/model.js'
import {hclString, userMetadataHcl} from '../../../src/lib/hybrid/export/terraform.js'
import {TemplateEvaluator, type TemplateRequest} from '../../helpers/arm-template.js'

const plan: ExportPlan = {
  app: {resourceGroup: 'rg', app: 'web', slot: 'staging'},
  namespaces: [{name: 'ns', location: 'westeurope'}],
  hybridConnections: [{namespace: 'ns', name: 'hc', requiresClientAuthorization: true, userMetadata: '[{"key":"endpoint","value":"db:1433"}]'}],
  rules: [{namespace: 'ns', hybridConnection: 'hc', name: 'send', rights: ['Send']}],
  relays: [{namespace: 'ns', name: 'hc', hostname: 'db', port: 1433, sendKeyName: 'send', keyScope: 'hybridConnection', serviceBusSuffix: '.servicebus.windows.net'}],
  warnings: [],
}

describe('export: encodings', () => {
  const evaluator = (request: TemplateRequest = async () => ({status: 200, json: {primaryKey: 'K'}})) =>
    new TemplateEvaluator({subscriptionId: 'sub', resourceGroup: 'rg', defaults: {appName: 'web', slotName: 'staging'}, request})

  it('ARM: a literal starting with [ gets the [[ escape, and the test deployer reads it back unchanged (property)', async () => {
    const ev = evaluator()
    assert.equal(armLiteral('[{"key":"endpoint"}]'), '[[{"key":"endpoint"}]')
    assert.equal(armLiteral('db01'), 'db01')
    await fc.assert(fc.asyncProperty(fc.string(), async (s) => (await ev.string(armLiteral(s))) === s))
  })

  it('ARM: the slot relay name, relayArmUri and sendKeyValue are expressions the deployer evaluates (listKeys of the rule)', async () => {
    const calls: string[] = []
    const ev = evaluator(async (_m: string, path: string) => {
      calls.push(path)
      return {status: 200, json: {primaryKey: 'K1'}}
    })
    const t = JSON.parse(renderArm(plan)) as {resources: Array<{type: string; name: string; properties: Record<string, string>}>}
    const relay = t.resources.at(-1)!
    assert.equal(relay.type, 'Microsoft.Web/sites/slots/hybridConnectionNamespaces/relays')
    assert.equal(await ev.string(relay.name), 'web/staging/ns/hc')
    assert.equal(await ev.string(relay.properties.relayArmUri!), '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns/hybridConnections/hc')
    assert.equal(await ev.string(relay.properties.sendKeyValue!), 'K1')
    assert.deepEqual(calls, ['/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns/hybridConnections/hc/authorizationRules/send/listKeys?api-version=2021-11-01'])
    assert.deepEqual(summarize(plan).at(-1), {
      type: 'Microsoft.Web/sites/slots/hybridConnectionNamespaces/relays',
      name: 'web/staging/ns/hc',
      dependsOn: ['Microsoft.Relay/namespaces/hybridConnections/ns/hc', 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules/ns/hc/send'],
    })
  })

  it('Bicep and HCL string literals escape what their languages interpolate', () => {
    assert.equal(bicepString("it's ${x} \\"), "'it\\'s \\${x} \\\\'")
    assert.equal(hclString('say "hi" ${x} %{y} \\'), '"say \\"hi\\" $${x} %%{y} \\\\"')
    assert.equal(symbol('contoso-relay', 'db.01'), 'contoso_relay_db_01')
    assert.equal(symbol('1ns'), 'r_1ns')
  })

  it('Terraform userMetadata: jsonencode of {key, value} items, the raw string otherwise', () => {
    assert.equal(userMetadataHcl('[{"key":"endpoint","value":"db:1433"}]'), 'jsonencode([\n    { key = "endpoint", value = "db:1433" },\n  ])')
    assert.equal(userMetadataHcl('db:1433'), '"db:1433"')
    assert.equal(userMetadataHcl('[{"key":"endpoint","value":"x","extra":1}]'), '"[{\\"key\\":\\"endpoint\\",\\"value\\":\\"x\\",\\"extra\\":1}]"')
  })
})
