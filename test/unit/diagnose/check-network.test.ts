import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {createServer as createHttpsServer, type Server as HttpsServer} from 'node:https'
import {createServer as createNetServer, type AddressInfo, type Socket} from 'node:net'

import {type NetworkContext, NETWORK_CHECKS, PUBLIC_RELAY_ISSUER} from '../../../src/lib/diagnose/check/network.js'
import {runChecks} from '../../../src/lib/diagnose/check/pipeline.js'
import {startConnectProxy} from '../../helpers/connect-proxy.js'
import {proxyFor} from '../../../src/lib/diagnose/probes.js'
import {createCertificateAuthority, createServerCertificate, type CertificateAuthority} from '../../../src/emulator/certs.js'

const NS = 'contoso.servicebus.hcctl.test'

/** A stand-in for the relay's front door: 401 to upgrades without a token, a Date header on GET. */
async function fakeRelay(ca: CertificateAuthority, options: {dateOffsetMs?: number; upgradeStatus?: number} = {}) {
  const cert = await createServerCertificate(ca, {dnsNames: [NS]})
  const seen: Array<{host?: string; path?: string}> = []
  const server: HttpsServer = createHttpsServer({cert: cert.cert, key: cert.key}, (req, res) => {
    seen.push({host: req.headers.host, path: req.url})
    if (options.dateOffsetMs !== undefined) {
      res.sendDate = false
      res.setHeader('Date', new Date(Date.now() + options.dateOffsetMs).toUTCString())
    }
    res.end('relay')
  })
  server.on('upgrade', (req, socket: Socket) => {
    seen.push({host: req.headers.host, path: req.url})
    const status = options.upgradeStatus ?? 401
    socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'TokenMissingOrInvalid' : 'Nope'}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {server, port: (server.address() as AddressInfo).port, seen}
}

function ctx(port: number, ca: string | undefined, extra: Partial<NetworkContext> = {}): NetworkContext {
  return {
    relayTarget: {host: NS, connectHost: '127.0.0.1', connectPort: port, ca},
    redirected: true,
    hybridConnection: 'hc1',
    env: {},
    now: Date.now,
    timeoutMs: 3000,
    net: {},
    ...extra,
  }
}

const byId = (results: Awaited<ReturnType<typeof runChecks>>) => Object.fromEntries(results.map((r) => [r.id, r]))

describe('network checks (against local servers)', () => {
  let ca: CertificateAuthority
  let other: CertificateAuthority
  before(async () => {
    ca = await createCertificateAuthority('hcctl test CA')
    other = await createCertificateAuthority('Corp Inspection CA')
  })

  it('the healthy path: DNS, TCP, TLS (subject and issuer shown), upgrade answered, clock in step; no proxy -> skip', async () => {
    const relay = await fakeRelay(ca)
    try {
      const r = byId(await runChecks(NETWORK_CHECKS, ctx(relay.port, ca.cert)))
      for (const id of ['net.dns', 'net.tcp', 'net.tls', 'net.websocket', 'net.clock']) assert.equal(r[id]!.status, 'pass', `${id}: ${r[id]!.evidence.join('; ')}`)
      assert.equal(r['net.websocket-proxy']!.status, 'skip')
      assert.match(r['net.tls']!.evidence.join('\n'), new RegExp(`subject .*CN=${NS.replace(/\./g, '\\.')}`))
      assert.match(r['net.tls']!.evidence.join('\n'), /issuer .*CN=hcctl test CA/)
      assert.match(r['net.websocket']!.evidence[0]!, /HTTP 401 TokenMissingOrInvalid/)
      assert.match(r['net.dns']!.evidence.join('\n'), /relayAddress/)
      assert.ok(relay.seen.some((s) => s.host === NS && s.path === '/$hc/hc1?sb-hc-action=connect'), 'SNI/Host is the namespace, path the HC')
    } finally {
      relay.server.close()
    }
  })

  it('a certificate from another CA is flagged as possible TLS inspection and stops the layers above', async () => {
    const relay = await fakeRelay(other)
    try {
      const r = byId(await runChecks(NETWORK_CHECKS, ctx(relay.port, ca.cert)))
      assert.equal(r['net.tls']!.status, 'fail')
      assert.match(r['net.tls']!.evidence.join('\n'), /issuer .*Corp Inspection CA/)
      assert.match(r['net.tls']!.remedy!, /possible TLS inspection/)
      assert.deepEqual(r['net.websocket']!.evidence, ['skipped: net.tls failed'])
      assert.equal(r['net.clock']!.status, 'skip')
    } finally {
      relay.server.close()
    }
  })

  it('with system roots, a trusted certificate from an unexpected issuer is a warning', async () => {
    const relay = await fakeRelay(ca)
    try {
      // Trust the test CA as if it were a corporate root installed on this machine.
      const c = ctx(relay.port, ca.cert, {expectedIssuer: PUBLIC_RELAY_ISSUER})
      const r = byId(await runChecks(NETWORK_CHECKS, {...c, relayTarget: {...c.relayTarget, ca: undefined}}))
      assert.equal(r['net.tls']!.status, 'fail', 'not trusted by the system roots')
      assert.match(r['net.tls']!.remedy!, /TLS inspection/)
    } finally {
      relay.server.close()
    }
  })

  it('clock skew: warns past a minute, fails past five minutes, naming the direction', async () => {
    const relay = await fakeRelay(ca)
    try {
      const skewed = byId(await runChecks(NETWORK_CHECKS, ctx(relay.port, ca.cert, {now: () => Date.now() + 10 * 60_000})))
      assert.equal(skewed['net.clock']!.status, 'fail')
      assert.match(skewed['net.clock']!.evidence[0]!, /this machine is (599|600|601) s ahead of the relay/)
      assert.match(skewed['net.clock']!.remedy!, /Synchronise this machine's clock/)
      const slightly = byId(await runChecks(NETWORK_CHECKS, ctx(relay.port, ca.cert, {now: () => Date.now() - 2 * 60_000})))
      assert.equal(slightly['net.clock']!.status, 'warn')
      assert.match(slightly['net.clock']!.evidence[0]!, /s behind the relay/)
    } finally {
      relay.server.close()
    }
  })

  it('an upgrade answered by something other than the relay fails with the status', async () => {
    const relay = await fakeRelay(ca, {upgradeStatus: 400})
    try {
      const r = byId(await runChecks(NETWORK_CHECKS, ctx(relay.port, ca.cert)))
      assert.equal(r['net.websocket']!.status, 'fail')
      assert.match(r['net.websocket']!.evidence[0]!, /HTTP 400/)
      assert.match(r['net.websocket']!.remedy!, /Allow WebSockets/)
    } finally {
      relay.server.close()
    }
  })

  it('through HTTPS_PROXY: passes when the proxy tunnels, fails naming the proxy when it refuses CONNECT', async () => {
    const relay = await fakeRelay(ca)
    const good = await startConnectProxy()
    const bad = await startConnectProxy({refuse: true})
    try {
      const ok = byId(await runChecks(NETWORK_CHECKS, ctx(relay.port, ca.cert, {env: {HTTPS_PROXY: good.url}})))
      assert.equal(ok['net.websocket-proxy']!.status, 'pass', ok['net.websocket-proxy']!.evidence.join() + ok['net.websocket-proxy']!.remedy)
      assert.deepEqual(good.tunnels, [`127.0.0.1:${relay.port}`])
      const refused = byId(await runChecks(NETWORK_CHECKS, ctx(relay.port, ca.cert, {env: {https_proxy: bad.url}})))
      assert.equal(refused['net.websocket-proxy']!.status, 'fail')
      assert.match(refused['net.websocket-proxy']!.evidence[0]!, new RegExp(`via ${bad.url.replace(/[./]/g, '\\$&')}`))
      assert.match(refused['net.websocket-proxy']!.remedy!, /CONNECT/)
      assert.equal(refused['net.websocket']!.status, 'pass', 'the direct path is judged on its own')
    } finally {
      relay.server.close()
      good.server.close()
      bad.server.close()
    }
  })

  it('DNS and TCP failures name the layer and stop there', async () => {
    const closed = createNetServer().listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const port = (closed.address() as AddressInfo).port
    closed.close()
    const refused = byId(await runChecks(NETWORK_CHECKS, ctx(port, ca.cert)))
    assert.equal(refused['net.tcp']!.status, 'fail')
    assert.match(refused['net.tcp']!.evidence[0]!, /refused/)
    assert.equal(refused['net.tls']!.status, 'skip')
    const c = ctx(443, ca.cert)
    const unresolved = byId(await runChecks(NETWORK_CHECKS, {...c, redirected: false, relayTarget: {...c.relayTarget, connectHost: 'ns.hcctl.invalid', host: 'ns.hcctl.invalid'}}))
    assert.equal(unresolved['net.dns']!.status, 'fail')
    assert.match(unresolved['net.dns']!.remedy!, /cannot resolve ns\.hcctl\.invalid/)
    assert.equal(unresolved['net.tcp']!.status, 'skip')
  })

  it('proxyFor honours NO_PROXY', () => {
    assert.equal(proxyFor('a.servicebus.windows.net', {HTTPS_PROXY: 'http://p:1'}), 'http://p:1')
    assert.equal(proxyFor('a.servicebus.windows.net', {HTTPS_PROXY: 'http://p:1', NO_PROXY: '.windows.net'}), undefined)
    assert.equal(proxyFor('a.servicebus.windows.net', {HTTPS_PROXY: 'http://p:1', no_proxy: 'servicebus.windows.net'}), undefined)
    assert.equal(proxyFor('a.servicebus.windows.net', {HTTPS_PROXY: 'http://p:1', NO_PROXY: '*'}), undefined)
    assert.equal(proxyFor('a.servicebus.windows.net', {HTTPS_PROXY: 'http://p:1', NO_PROXY: 'example.com'}), 'http://p:1')
    assert.equal(proxyFor('a.servicebus.windows.net', {}), undefined)
  })
})
