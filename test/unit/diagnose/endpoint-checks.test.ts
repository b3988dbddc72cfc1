import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {type EndpointCheckContext, endpointService, endpointUnique, namedInstance} from '../../../src/lib/diagnose/check/endpoint.js'
import {withExtraChecks} from '../../../src/lib/diagnose/check/extra.js'
import {perHybridConnectionChecks} from '../../../src/lib/diagnose/check/index.js'
import {isPrivateAddress, judgeResolution, parseKuduNameResolver} from '../../../src/lib/diagnose/name-resolution.js'
import type {WebHybridConnection} from '../../../src/lib/hybrid/model.js'

const relay = (ns: string, name: string, hostname: string, port: number): WebHybridConnection => ({
  id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app/hybridConnectionNamespaces/${ns}/relays/${name}`,
  name,
  properties: {serviceBusNamespace: ns, relayName: name, relayArmUri: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Relay/namespaces/${ns}/hybridConnections/${name}`, hostname, port, sendKeyName: 'defaultSender'},
})

const ctx = (o: Partial<EndpointCheckContext>): EndpointCheckContext => ({
  relayRef: {resourceGroup: 'rg', namespace: 'ns', name: 'hc'},
  cloud: {name: 'x', armEndpoint: 'https://a', armAudience: 'https://a', authorityHost: 'https://a', relaySuffix: '.sb.test', appServiceSuffix: '.web.test'},
  timeoutMs: 1000,
  names: {endpointSet: 'hcctl endpoint set hc --namespace ns --resource-group rg --endpoint HOST:PORT'},
  ...o,
})

describe('endpoint checks', () => {
  it('named instances: host\\INSTANCE in the metadata or the app, with or without a port', () => {
    assert.deepEqual(namedInstance('db01\\SQLEXPRESS'), {host: 'db01', instance: 'SQLEXPRESS'})
    assert.deepEqual(namedInstance('db01.corp\\PROD:1433'), {host: 'db01.corp', instance: 'PROD'})
    assert.equal(namedInstance('db01:1433'), undefined)
    assert.equal(namedInstance(undefined), undefined)
    fc.assert(fc.property(fc.string(), (s) => namedInstance(s) === undefined || s.includes('\\')))
  })

  it('endpoint.service fails a named instance from the raw metadata (even when config.metadata rejects it), naming the static-port remedy', async () => {
    const r = await endpointService.run(ctx({relayHc: {id: '', name: 'hc', requiresClientAuthorization: true, listenerCount: 0, userMetadata: '[{"key":"endpoint","value":"db01\\\\SQLEXPRESS:1433"}]'}}))
    assert.equal(r.status, 'fail')
    assert.match(r.evidence[0]!, /db01\\SQLEXPRESS.*named instance.*UDP 1434/)
    assert.match(r.remedy!, /static TCP port.*Server=tcp:HOST,PORT/)
  })

  it('endpoint.service: 1434 and UDP-only services fail, FTP and LDAP warn, others pass', async () => {
    const at = (port: number) => endpointService.run(ctx({endpoint: {host: 'h.corp', port}, relayHc: {id: '', name: 'hc', requiresClientAuthorization: true, listenerCount: 0}}))
    assert.equal((await at(1434)).status, 'fail')
    assert.equal((await at(161)).status, 'fail')
    const ftp = await at(21)
    assert.equal(ftp.status, 'warn')
    assert.match(ftp.evidence.join(' '), /passive/)
    assert.equal((await at(389)).status, 'warn')
    assert.equal((await at(1433)).status, 'pass')
    assert.equal((await at(443)).status, 'pass')
  })

  it('endpoint.unique: another hybrid connection of the app with the same host:port (any case) fails, naming it', async () => {
    const mine = relay('ns', 'hc', 'db01.corp', 1433)
    const all = [mine, relay('ns', 'hc-copy', 'DB01.corp', 1433), relay('ns', 'other', 'db01.corp', 5432)]
    const r = await endpointUnique.run(ctx({webRelay: mine, appRelays: async () => all, app: {ref: {resourceGroup: 'rg', app: 'app'}}}))
    assert.equal(r.status, 'fail')
    assert.deepEqual(r.data, {duplicates: ['ns/hc-copy']})
    assert.equal((await endpointUnique.run(ctx({webRelay: mine, appRelays: async () => [mine, all[2]!]}))).status, 'pass')
  })

  it('the extra checks sit after the checks they build on, and only when asked', () => {
    const ids = (withApp: boolean, extra = {}) => perHybridConnectionChecks(withApp, extra).map((c) => c.id)
    const plain = ids(true)
    assert.deepEqual(plain.slice(plain.indexOf('config.endpoint-host'), plain.indexOf('config.endpoint-host') + 4), ['config.endpoint-host', 'endpoint.service', 'endpoint.unique', 'app.name-resolution'])
    assert.ok(!plain.includes('net.gateways') && !plain.includes('endpoint.tls-name'))
    const asked = ids(true, {gateways: {}, endpointTls: true})
    assert.equal(asked[asked.indexOf('net.clock') + 1], 'net.gateways')
    assert.equal(asked.at(-1), 'endpoint.tls-name')
    assert.ok(!ids(false).includes('endpoint.unique'), 'no app: no app-only checks')
    assert.deepEqual(withExtraChecks([], true, {gateways: {}}), [])
  })
})

describe('what the app resolves (nameresolver)', () => {
  it('parses answers and not-found in Kudu\'s nslookup-like output', () => {
    const ok = parseKuduNameResolver('Server: 168.63.129.16\r\n\r\nNon-authoritative answer:\r\nName: db01.corp.local\r\nAddresses: \r\n\t10.1.2.3\r\n\t10.1.2.4\r\n')
    assert.deepEqual(ok, {server: '168.63.129.16', addresses: ['10.1.2.3', '10.1.2.4'], notFound: false})
    const one = parseKuduNameResolver('Server: x\nName: a.b\nAddress: 52.1.2.3\n')
    assert.deepEqual(one.addresses, ['52.1.2.3'])
    const missing = parseKuduNameResolver("Server: 127.0.0.1\r\n\r\n*** Can't find db01.corp.local: No such host is known\r\n")
    assert.equal(missing.notFound, true)
    assert.deepEqual(missing.addresses, [])
    assert.deepEqual(parseKuduNameResolver('garbage'), {addresses: [], notFound: false})
    fc.assert(fc.property(fc.string(), (s) => Array.isArray(parseKuduNameResolver(s).addresses)))
  })

  it('private addresses (not loopback)', () => {
    for (const a of ['10.0.0.1', '172.16.5.5', '192.168.1.1', '100.64.0.1', 'fd00::1']) assert.equal(isPrivateAddress(a), true, a)
    for (const a of ['52.1.2.3', '127.0.0.1', '::1', '172.32.0.1']) assert.equal(isPrivateAddress(a), false, a)
  })

  it('exact, case-insensitive match redirects; a private answer sends it elsewhere; short names are near misses', () => {
    const relays = [relay('ns', 'hc', 'DB01.corp.local', 1433), relay('ns', 'short', 'db01', 1433)]
    const through = judgeResolution('db01.corp.local', relays, {addresses: [], notFound: true})
    assert.equal(through.redirect, 'hybrid-connection')
    assert.deepEqual(through.matches.map((m) => m.name), ['hc'])
    assert.deepEqual(through.nearMisses, ['db01'])
    assert.equal(judgeResolution('db01.corp.local', relays, {addresses: ['10.1.2.3'], notFound: false}).redirect, 'elsewhere')
    assert.equal(judgeResolution('db01.corp.local', relays, {addresses: ['52.1.2.3'], notFound: false}).redirect, 'hybrid-connection')
    assert.equal(judgeResolution('db02.corp.local', relays, undefined).redirect, 'not-configured')
  })
})
