import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {type AddressInfo, createServer as createTcpServer, type Server as TcpServer} from 'node:net'
import {createServer as createTlsServer, type Server as TlsServer} from 'node:tls'

import fc from 'fast-check'

import type {CloudProfile} from '../../../src/lib/azure/clouds.js'
import {
  cnameChain,
  findStamp,
  formatGatewayList,
  type GatewayNet,
  gatewayNames,
  gateways,
  overrideAnswer,
  probeGateways,
  STAMP_PATTERN,
  stampFromAlias,
} from '../../../src/lib/diagnose/gateways.js'
import {createCertificateAuthority, createServerCertificate} from '../../../src/emulator/certs.js'

const SUFFIX = '.servicebus.test'
const cloud = (extra: Partial<CloudProfile> = {}): CloudProfile => ({
  name: 'custom',
  armEndpoint: 'https://127.0.0.1:1',
  armAudience: 'https://127.0.0.1:1',
  authorityHost: 'https://127.0.0.1:1',
  relaySuffix: SUFFIX,
  appServiceSuffix: '.azurewebsites.test',
  ...extra,
})
const noDns: GatewayNet = {
  cname: async () => [],
  lookup: async (n) => {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${n}`), {code: 'ENOTFOUND'})
  },
}

describe('gateways: names and stamps', () => {
  it('256 names: G0…G127 then GV0…GV127, in the documented form', () => {
    const names = gatewayNames('sn3-010', '.servicebus.windows.net')
    assert.equal(names.length, 256)
    assert.equal(names[0]!.name, 'G0-prod-sn3-010-sb.servicebus.windows.net')
    assert.equal(names[127]!.name, 'G127-prod-sn3-010-sb.servicebus.windows.net')
    assert.equal(names[128]!.name, 'GV0-prod-sn3-010-sb.servicebus.windows.net')
    assert.equal(names[255]!.name, 'GV127-prod-sn3-010-sb.servicebus.windows.net')
    assert.equal(new Set(names.map((n) => n.name)).size, 256)
  })

  it('reads the stamp from the aliases nslookup shows', () => {
    assert.equal(stampFromAlias('ns-sb2-prod-sn3-010.cloudapp.net'), 'sn3-010')
    assert.equal(stampFromAlias('ns-sb2-prod-bn3-az402.trafficmanager.net'), 'bn3-az402')
    assert.equal(stampFromAlias('ns-sb2-prod-bn3-az402-s2.cloudapp.net'), 'bn3-az402', 'the scale unit -sN is not part of the stamp')
    assert.equal(stampFromAlias('contoso.servicebus.windows.net'), undefined)
    assert.equal(stampFromAlias('prod-x.cloudapp.net'), undefined, 'a stamp has two parts')
  })

  it('stampFromAlias never throws and only returns stamp-shaped text (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = stampFromAlias(s)
        return r === undefined || STAMP_PATTERN.test(r)
      }),
    )
  })

  it('resolver override: exact beats pattern, longer pattern beats shorter, address beats cname, null is NXDOMAIN', () => {
    const o = {
      cname: {'*.servicebus.test': 'ns-sb2-prod-ab1-001.cloudapp.test'},
      address: {'*-prod-ab1-001-sb.servicebus.test': '127.0.0.1:1000', 'g7-prod-ab1-001-sb.servicebus.test': '127.0.0.1:2000', 'G42-prod-ab1-001-sb.servicebus.test': null},
    }
    assert.deepEqual(overrideAnswer(o, 'contoso.servicebus.test'), {cname: 'ns-sb2-prod-ab1-001.cloudapp.test'})
    assert.deepEqual(overrideAnswer(o, 'G0-prod-ab1-001-sb.servicebus.test'), {address: {host: '127.0.0.1', port: 1000}})
    assert.deepEqual(overrideAnswer(o, 'G7-prod-ab1-001-sb.servicebus.test'), {address: {host: '127.0.0.1', port: 2000}})
    assert.deepEqual(overrideAnswer(o, 'g42-prod-ab1-001-sb.servicebus.test'), {address: null})
    assert.equal(overrideAnswer(o, 'a.b.servicebus.test'), undefined, '* stays inside one label')
    assert.equal(overrideAnswer(undefined, 'x'), undefined)
  })

  it('follows the CNAME chain through DNS and stops on loops', async () => {
    const net: GatewayNet = {
      cname: async (n) => ({'contoso.servicebus.windows.net': ['ns-sb2-prod-sn3-010.trafficmanager.net'], 'ns-sb2-prod-sn3-010.trafficmanager.net': ['ns-sb2-prod-sn3-010-s1.cloudapp.net'], 'loop.a': ['loop.b'], 'loop.b': ['loop.a']})[n] ?? [],
      lookup: noDns.lookup,
    }
    assert.deepEqual(await cnameChain('contoso.servicebus.windows.net', undefined, net), ['contoso.servicebus.windows.net', 'ns-sb2-prod-sn3-010.trafficmanager.net', 'ns-sb2-prod-sn3-010-s1.cloudapp.net'])
    assert.deepEqual(await cnameChain('loop.a', undefined, net), ['loop.a', 'loop.b'])
    const facts = await findStamp({host: 'contoso.servicebus.windows.net', cloud: cloud(), net})
    assert.equal(facts.stamp, 'sn3-010')
    assert.equal(facts.source, 'cname')
  })

  it('no alias: exit 3 with --stamp as the way out; a malformed --stamp is a usage error', async () => {
    await assert.rejects(findStamp({host: 'x.servicebus.test', cloud: cloud(), net: noDns}), (e: {code?: string; exitCode?: number; suggestions?: string[]}) => {
      assert.equal(e.code, 'StampNotFound')
      assert.equal(e.exitCode, 3)
      assert.match(e.suggestions!.join(' '), /--stamp/)
      return true
    })
    await assert.rejects(findStamp({host: 'x', stamp: 'sn3 010', cloud: cloud()}), {code: 'InvalidStamp', exitCode: 2})
    assert.equal((await findStamp({host: 'x', stamp: 'SN3-010', cloud: cloud()})).stamp, 'sn3-010')
  })
})

describe('gateways: probes (loopback TLS servers)', function () {
  this.timeout(20_000)
  let tls: TlsServer
  let reset: TcpServer
  let silent: TcpServer
  let tlsPort: number
  let resetPort: number
  let silentPort: number
  let ca: string
  let inFlight = 0
  let maxInFlight = 0

  before(async () => {
    const authority = await createCertificateAuthority('gateway test CA')
    ca = authority.cert
    const cert = await createServerCertificate(authority, {dnsNames: [`*${SUFFIX}`]})
    tls = createTlsServer({cert: cert.cert, key: cert.key}, (s) => {
      s.on('error', () => {})
      s.end()
    })
    tls.on('connection', (socket) => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      socket.once('close', () => inFlight--)
    })
    reset = createTcpServer((s) => {
      s.on('error', () => {})
      s.resetAndDestroy()
    })
    // Accepts and never answers: a TLS handshake that hangs until the per-name timeout.
    silent = createTcpServer((s) => s.on('error', () => {}))
    for (const s of [tls, reset, silent]) {
      s.listen(0, '127.0.0.1')
      await once(s, 'listening')
    }
    tlsPort = (tls.address() as AddressInfo).port
    resetPort = (reset.address() as AddressInfo).port
    silentPort = (silent.address() as AddressInfo).port
  })

  after(() => {
    tls.close()
    reset.close()
    silent.close()
  })

  const profile = (extra: Record<string, string | null> = {}) =>
    cloud({
      ca,
      resolver: {
        cname: {[`*${SUFFIX}`]: 'ns-sb2-prod-ab1-001.cloudapp.test'},
        address: {[`*-prod-ab1-001-sb${SUFFIX}`]: `127.0.0.1:${tlsPort}`, ...extra},
      },
    })

  it('reachable and blocked (reset, no DNS answer), blocked names listed in order, concurrency bounded', async () => {
    maxInFlight = 0
    const r = await gateways({
      cloud: profile({[`G3-prod-ab1-001-sb${SUFFIX}`]: `127.0.0.1:${resetPort}`, [`GV9-prod-ab1-001-sb${SUFFIX}`]: null}),
      namespace: 'contoso',
      mode: 'probe',
      concurrency: 4,
      timeoutMs: 5000,
      net: noDns,
    })
    assert.equal(r.stamp, 'ab1-001')
    assert.deepEqual(r.counts, {total: 256, reachable: 254, resolved: 0, blocked: 2, unknown: 0})
    assert.deepEqual(r.blocked, [`G3-prod-ab1-001-sb${SUFFIX}`, `GV9-prod-ab1-001-sb${SUFFIX}`])
    assert.equal(r.ok, false)
    const byName = new Map((r.gateways as Array<{name: string; stage?: string; trusted?: boolean}>).map((g) => [g.name, g]))
    assert.equal(byName.get(`GV9-prod-ab1-001-sb${SUFFIX}`)!.stage, 'dns')
    assert.match(byName.get(`G3-prod-ab1-001-sb${SUFFIX}`)!.stage!, /^(tcp|tls)$/)
    assert.equal(byName.get(`G0-prod-ab1-001-sb${SUFFIX}`)!.trusted, true, 'the profile CA is trusted, SNI = the gateway name')
    assert.ok(maxInFlight <= 4, `at most 4 connections at once, saw ${maxInFlight}`)
    assert.ok(maxInFlight >= 2, `probes ran in parallel, saw ${maxInFlight}`)
  })

  it('the total deadline: names not done are "unknown", not blocked', async () => {
    const names = gatewayNames('ab1-001', SUFFIX).slice(0, 6)
    const r = await probeGateways({cloud: profile({[`*-prod-ab1-001-sb${SUFFIX}`]: `127.0.0.1:${silentPort}`}), names, concurrency: 2, timeoutMs: 10_000, deadlineMs: 300, net: noDns})
    assert.equal(r.deadlineReached, true)
    assert.equal(r.counts.unknown, 6)
    assert.equal(r.counts.blocked, 0)
    assert.ok(r.probes.every((p) => p.stage === 'deadline'))
  })

  it('formats for a firewall team: list, csv (quoted), json', async () => {
    const r = await gateways({cloud: profile(), namespace: 'contoso', mode: 'resolve', net: noDns})
    assert.equal(r.counts!.resolved, 256)
    const list = formatGatewayList(r, 'list').split('\n')
    assert.equal(list.length, 256)
    assert.equal(list[0], `G0-prod-ab1-001-sb${SUFFIX}`)
    const csv = formatGatewayList(r, 'csv').split('\n')
    assert.equal(csv[0], 'name,group,index,address,port,status,error')
    assert.equal(csv[1], `G0-prod-ab1-001-sb${SUFFIX},G,0,127.0.0.1,${tlsPort},resolved,`)
    const json = JSON.parse(formatGatewayList(r, 'json')) as Array<{name: string; address: string}>
    assert.equal(json.length, 256)
    assert.equal(json[255]!.name, `GV127-prod-ab1-001-sb${SUFFIX}`)
    assert.equal(json[255]!.address, '127.0.0.1')
  })
})
