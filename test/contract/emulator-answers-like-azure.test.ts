import {strict as assert} from 'node:assert'

import {type Emulator, startEmulator} from '../../src/emulator/index.js'
import {call} from '../integration/emulator/helpers.js'
import {type Interaction, interactions, REC, shapeDifferences} from './recording.js'

/**
 * The emulator answers like Azure: every recorded call is sent to the emulator in the recorded
 * order, with the recorded body and api-version, and the answer must have Azure's status code
 * and shape (property names with their case, value types; ids, timestamps and other values aside).
 *
 * Calls outside what the emulator serves are listed in OUT_OF_SCOPE, and each difference that
 * remains is listed in KNOWN, both with the reason. The test fails on any difference not listed
 * and on any listed one that went away, so the lists stay the truth.
 */

/** Recorded calls the emulator is not asked to answer, and why. */
const OUT_OF_SCOPE: Array<{what: string; test: (i: Interaction) => boolean; reason: string}> = [
  {
    what: 'Microsoft.Relay provider registration (POST .../providers/Microsoft.Relay/register, GET .../providers/Microsoft.Relay) and the 409 MissingSubscriptionRegistration before it',
    test: (i) => /\/providers\/Microsoft\.Relay(\/register)?$/i.test(i.path) || i.status === 409,
    reason: 'the emulator has every provider registered in every subscription; it serves no /providers/{namespace} resource',
  },
  {
    what: 'the site PUT Azure answered 500 InternalServerError (the Azure CLI retried it)',
    test: (i) => i.status === 500,
    reason: 'a transient Azure failure; the emulator fails only on request (--faults arm.500=N), which the fault tests cover',
  },
  {
    what: 'GET /providers/Microsoft.Web/webAppStacks, POST sites/{app}[/slots/{slot}]/publishxml, GET sites/{app}[/slots/{slot}]/config/web',
    test: (i) => /\/webAppStacks$|\/publishxml$|\/config\/web$/i.test(i.path),
    reason: 'App Service features outside hybrid connections (runtime stacks, publishing profiles with credentials, site configuration): hcctl never calls them and the emulator does not model them',
  },
]

/** Differences found and kept, each with its reason (the key is `#index METHOD resource: difference`). */
const KNOWN: Record<string, string> = {
  '#1 PUT serverfarms/hcplan000003: status: Azure 200, emulator 202':
    "the serverfarms PUT is a long-running operation in Azure's spec (200 or 202); Azure answered this small plan at once, the emulator answers 202 + Location so that clients' LRO handling is exercised (lroPolls: 0 still answers 202 with a finished plan)",
  '#1 PUT serverfarms/hcplan000003: properties.sku: only Azure has it':
    "Azure echoes the sku inside properties on the PUT answer only (the GET that follows, #2, has no properties.sku); the emulator answers the plan's one shape to both",
  '#6 PUT sites/hcwebapp000002: properties.siteConfig: only Azure has it':
    "siteConfig is the app's configuration (about 100 settings, its own resource sites/{app}/config/web); the emulator does not model it and nothing hcctl does reads it",
  '#37 GET sites/hcwebapp000002: properties.siteConfig: only Azure has it': 'as #6: siteConfig is not modelled',
  '#39 PUT sites/hcwebapp000002/slots/hcwebapp000002-stage: properties.siteConfig: only Azure has it': 'as #6: siteConfig is not modelled',
  '#46 GET sites/hcwebapp000002: properties.siteConfig: only Azure has it': 'as #6: siteConfig is not modelled',
  '#51 GET sites/hcwebapp000002/slots/hcwebapp000002-stage: properties.siteConfig: only Azure has it': 'as #6: siteConfig is not modelled',
}

/** `serverfarms/hcplan000003`, `namespaces/x/hybridConnections/y`: the path after the resource group's provider. */
function resourceOf(i: Interaction): string {
  const m = /\/providers\/[^/]+\/(.+)$/i.exec(i.path)
  return m ? m[1]! : i.path.replace(/^\/subscriptions\/[^/]+\/?/i, '') || '(subscription)'
}

describe('contract: the emulator answers each recorded call like Azure (status, property names, value types)', function () {
  this.timeout(60_000)
  let emu: Emulator
  const found: string[] = []
  const replayed: Interaction[] = []

  before(async () => {
    emu = await startEmulator({inMemory: true, seed: {resourceGroups: [{name: REC.resourceGroup, location: 'japanwest', tags: {product: 'azurecli', cause: 'automation', date: '2022-03-01T18:45:32Z'}}]}})
    for (const i of interactions()) {
      if (OUT_OF_SCOPE.some((o) => o.test(i))) continue
      replayed.push(i)
      const own = (text: string) => text.replaceAll(REC.subscriptionId, emu.subscriptionId)
      const body = i.requestBody === undefined ? undefined : (JSON.parse(own(JSON.stringify(i.requestBody))) as unknown)
      const r = await call(emu, i.method, `${own(i.path)}?api-version=${i.apiVersion}`, {body})
      const at = `#${i.index} ${i.method} ${resourceOf(i)}`
      if (r.status !== i.status) found.push(`${at}: status: Azure ${i.status}, emulator ${r.status}`)
      if (r.status < 300 && i.status < 300) for (const d of shapeDifferences(i.body, r.json)) found.push(`${at}: ${d}`)
    }
  })

  after(async () => {
    await emu?.stop()
  })

  it('replays the hybrid-connection story end to end (plan, app, slot, namespace, connection, rule, keys, attach, list, remove)', () => {
    const kinds = new Set(replayed.map((i) => `${i.method} ${resourceOf(i).replace(/\/[^/]+$/, '/*')}`))
    for (const k of ['PUT serverfarms/*', 'PUT sites/*', 'PUT namespaces/*', 'PUT namespaces/hcnamespace000004/hybridConnections/*', 'POST namespaces/hcnamespace000004/hybridConnections/hcname000005/authorizationRules/defaultSender/*', 'DELETE sites/hcwebapp000002/hybridConnectionNamespaces/hcnamespace000004/relays/*']) {
      assert.ok(kinds.has(k), `replayed ${k}`)
    }
    assert.ok(replayed.length >= 30, `${replayed.length} calls replayed`)
  })

  it('every difference from Azure is listed with its reason, and every listed one still exists', () => {
    assert.deepEqual([...found].sort(), Object.keys(KNOWN).sort(), `differences found:\n${found.join('\n')}`)
  })

  it('the hybrid-connection calls themselves (Relay and the Web contracts) answer exactly like Azure', () => {
    const hc = found.filter((f) => /hybridConnection|authorizationRules|namespaces/i.test(f))
    assert.deepEqual(hc, [])
  })
})
