import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {API_VERSIONS, apiVersionFor, providerOf} from '../../../src/lib/azure/api-versions.js'
import {
  authorizationRuleId,
  formatResourceId,
  hybridConnectionId,
  parseAuthorizationRuleId,
  parseHybridConnectionId,
  parseRelayNamespaceId,
  parseResourceId,
  parseServerfarmId,
  parseSiteId,
  parseWebHybridConnectionId,
  relayNamespaceId,
  resourceGroupId,
  sameResourceId,
  serverfarmId,
  siteId,
  tryParseHybridConnectionId,
  tryParseServerfarmId,
  tryParseSiteId,
  webHybridConnectionId,
} from '../../../src/lib/azure/resource-id.js'

const scope = {subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg-1'}

function usage(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (e: Error & {exitCode: number; code: string; suggestions: string[]}) => {
    assert.equal(e.exitCode, 2)
    assert.equal(e.code, 'InvalidResourceId')
    assert.match(e.suggestions.join(' '), pattern)
    return true
  })
}

describe('resource ids', () => {
  it('parses by key/value pairs, case-insensitively', () => {
    const id = '/SUBSCRIPTIONS/s/resourcegroups/RG/providers/microsoft.relay/Namespaces/ns/HybridConnections/hc/authorizationrules/send'
    assert.deepEqual(parseAuthorizationRuleId(id), {subscriptionId: 's', resourceGroup: 'RG', namespace: 'ns', hybridConnection: 'hc', rule: 'send'})
    assert.deepEqual(parseResourceId('subscriptions/s/resourceGroups/rg/'), {subscriptionId: 's', resourceGroup: 'rg', resources: []})
    assert.deepEqual(parseResourceId('/subscriptions/s'), {subscriptionId: 's', resources: []})
  })

  it('formats and parses every typed helper (round trip)', () => {
    const cases: Array<[string, unknown, (id: string) => unknown]> = [
      [siteId({...scope, site: 'app'}), {...scope, site: 'app'}, parseSiteId],
      [siteId({...scope, site: 'app', slot: 'staging'}), {...scope, site: 'app', slot: 'staging'}, parseSiteId],
      [serverfarmId({...scope, plan: 'plan'}), {...scope, plan: 'plan'}, parseServerfarmId],
      [relayNamespaceId({...scope, namespace: 'ns'}), {...scope, namespace: 'ns'}, parseRelayNamespaceId],
      [hybridConnectionId({...scope, namespace: 'ns', hybridConnection: 'hc'}), {...scope, namespace: 'ns', hybridConnection: 'hc'}, parseHybridConnectionId],
      [authorizationRuleId({...scope, namespace: 'ns', rule: 'Root'}), {...scope, namespace: 'ns', rule: 'Root'}, parseAuthorizationRuleId],
      [webHybridConnectionId({...scope, site: 'a', namespace: 'ns', relay: 'hc'}), {...scope, site: 'a', namespace: 'ns', relay: 'hc'}, parseWebHybridConnectionId],
      [webHybridConnectionId({...scope, site: 'a', slot: 's', namespace: 'ns', relay: 'hc'}), {...scope, site: 'a', slot: 's', namespace: 'ns', relay: 'hc'}, parseWebHybridConnectionId],
    ]
    for (const [id, ref, parse] of cases) assert.deepEqual(parse(id), ref, id)
    assert.equal(
      webHybridConnectionId({...scope, site: 'a', slot: 's', namespace: 'ns', relay: 'hc'}),
      '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-1/providers/Microsoft.Web/sites/a/slots/s/hybridConnectionNamespaces/ns/relays/hc',
    )
    assert.equal(resourceGroupId(scope), '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-1')
  })

  it('malformed ids are usage errors that show the expected shape', () => {
    usage(() => parseSiteId('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/serverfarms/p'), /Microsoft\.Web\/sites\/\{site\}/)
    usage(() => parseSiteId('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Relay/namespaces/n'), /sites/)
    usage(() => parseHybridConnectionId('/subscriptions/s/providers/Microsoft.Relay/namespaces/n/hybridConnections/h'), /resourceGroups/)
    usage(() => parseRelayNamespaceId('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Relay/namespaces'), /namespaces\/\{namespace\}/)
    usage(() => parseResourceId('https://management.azure.com/subscriptions/s'), /subscriptions/)
    usage(() => parseResourceId('/subscriptions//resourceGroups/rg'), /subscriptions/)
    usage(() => parseResourceId('/resourceGroups/rg'), /subscriptions/)
    usage(() => parseResourceId(''), /subscriptions/)
    usage(() => parseResourceId('/subscriptions/s/resourceGroups/rg/foo/bar'), /subscriptions/)
    usage(() => parseResourceId('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web'), /subscriptions/)
    assert.throws(() => siteId({...scope, site: 'a/b'}), /Invalid sites name/)
  })

  it('compares ids case-insensitively', () => {
    assert.ok(sameResourceId('/subscriptions/S/resourceGroups/RG/', 'subscriptions/s/resourcegroups/rg'))
    assert.ok(!sameResourceId('/subscriptions/s/resourceGroups/a', '/subscriptions/s/resourceGroups/b'))
  })

  it('parse never throws anything but a usage error, and format(parse(x)) is stable (property)', () => {
    const seg = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/)
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          parseResourceId(s)
        } catch (error) {
          assert.equal((error as {exitCode: number}).exitCode, 2)
        }
      }),
    )
    fc.assert(
      fc.property(seg, seg, fc.array(fc.tuple(seg, seg), {minLength: 1, maxLength: 4}), (sub, rg, pairs) => {
        const id = formatResourceId({subscriptionId: sub, resourceGroup: rg, provider: 'Microsoft.Test', resources: pairs.map(([type, name]) => ({type, name}))})
        const parsed = parseResourceId(id)
        assert.equal(formatResourceId(parsed), id)
        assert.ok(sameResourceId(formatResourceId(parseResourceId(id.toUpperCase())), id))
      }),
    )
  })
})

describe('resource ids, lenient forms', () => {
  it('find the resource an id names or lies below, in any casing, and never throw', () => {
    const rule = '/SUBSCRIPTIONS/s/resourcegroups/RG/providers/microsoft.relay/Namespaces/ns/HybridConnections/hc%20x/authorizationrules/send'
    assert.deepEqual(tryParseHybridConnectionId(rule), {subscriptionId: 's', resourceGroup: 'RG', namespace: 'ns', hybridConnection: 'hc x'})
    assert.equal(tryParseHybridConnectionId(`/subscriptions/s/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns`), undefined)
    const relay = `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app/slots/blue/hybridConnectionNamespaces/ns/relays/hc`
    assert.deepEqual(tryParseSiteId(relay), {subscriptionId: 's', resourceGroup: 'rg', site: 'app', slot: 'blue'})
    assert.deepEqual(tryParseSiteId(`/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app`), {subscriptionId: 's', resourceGroup: 'rg', site: 'app'})
    assert.deepEqual(tryParseServerfarmId(`/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/serverFarms/p/hybridConnectionRelays`), {subscriptionId: 's', resourceGroup: 'rg', plan: 'p'})
    for (const junk of ['', '/', 'x/%E0%A4%A', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites']) {
      assert.equal(tryParseSiteId(junk), undefined)
      assert.equal(tryParseServerfarmId(junk), undefined)
      assert.equal(tryParseHybridConnectionId(junk), undefined)
    }
  })

  it('read what the strict formatters write', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/), fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/), fc.option(fc.stringMatching(/^[A-Za-z0-9-]{1,8}$/), {nil: undefined}), (rg, name, slot) => {
        const site = {subscriptionId: 's', resourceGroup: rg, site: name, ...(slot ? {slot} : {})}
        assert.deepEqual(tryParseSiteId(siteId(site)), site)
        const hc = {subscriptionId: 's', resourceGroup: rg, namespace: name, hybridConnection: name}
        assert.deepEqual(tryParseHybridConnectionId(authorizationRuleId({...hc, rule: 'r'})), hc)
      }),
    )
  })
})

describe('api-versions', () => {
  it('maps a path to its provider and version', () => {
    assert.equal(providerOf('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a/providers/Microsoft.Insights/x/y'), 'Microsoft.Insights')
    assert.equal(providerOf('/subscriptions/s/resourceGroups/rg'), 'Microsoft.Resources')
    assert.equal(providerOf('https://h/subscriptions/s/providers?x=1'), 'Microsoft.Resources')
    assert.equal(providerOf('/foo/bar'), undefined)
    assert.equal(apiVersionFor('/subscriptions/s/providers/MICROSOFT.RELAY/namespaces'), API_VERSIONS['microsoft.relay'])
    assert.equal(apiVersionFor('/subscriptions/s/providers/Microsoft.Web/sites'), '2025-05-01')
    assert.equal(apiVersionFor('/subscriptions/s/resourcegroups/x'), '2022-09-01')
    assert.equal(apiVersionFor('/subscriptions/s/providers/Microsoft.Storage/x'), undefined)
  })
})
