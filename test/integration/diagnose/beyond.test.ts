import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import type {AddressInfo} from 'node:net'
import {createServer as createTlsServer, type Server as TlsServer} from 'node:tls'

import {type Emulator, type SeedFile, startEmulator} from '../../../src/emulator/index.js'
import {NXDOMAIN_GATEWAYS, RESET_GATEWAYS} from '../../../src/emulator/gateways.js'
import {PRIVATE_DNS_TAG} from '../../../src/emulator/sandbox.js'
import type {CheckRunResult} from '../../../src/lib/diagnose/check/index.js'
import type {GatewaysResult} from '../../../src/lib/diagnose/gateways.js'
import {Agent} from '../../../src/lib/relay/agent.js'
import {credentialsFromKey} from '../../../src/lib/relay/credentials.js'
import {transportFromCloud} from '../../../src/lib/relay/transport.js'
import {createCertificateAuthority, createServerCertificate} from '../../../src/emulator/certs.js'
import {runCli} from '../../helpers/cli.js'
import {call, expectOk} from '../emulator/helpers.js'

const RG = 'bynd'
const NS = 'bynd-relay'
const SEED: SeedFile = {
  resourceGroups: [{name: RG, location: 'westeurope'}],
  plans: [{resourceGroup: RG, name: 'plan', sku: 'S1'}],
  sites: ['app-ok', 'app-dup', 'app-vnet', 'app-tls', 'app-tls-ok'].map((name) => ({resourceGroup: RG, name, plan: 'plan', kind: 'app'})),
  namespaces: [
    {
      resourceGroup: RG,
      name: NS,
      hybridConnections: [
        {name: 'hc-ok', endpoint: 'db01.corp.hcctl.test:1433', defaultRules: true},
        {name: 'hc-named', userMetadata: '[{"key":"endpoint","value":"db01.corp.hcctl.test\\\\SQLEXPRESS:1433"}]', defaultRules: true},
        {name: 'hc-browser', endpoint: 'db01.corp.hcctl.test:1434', defaultRules: true},
        {name: 'hc-ftp', endpoint: 'ftp.corp.hcctl.test:21', defaultRules: true},
        {name: 'hc-dup1', endpoint: 'files.corp.hcctl.test:8443', defaultRules: true},
        {name: 'hc-dup2', endpoint: 'FILES.corp.hcctl.test:8443', defaultRules: true},
        {name: 'hc-vnet', endpoint: 'db02.corp.hcctl.test:1433', defaultRules: true},
        {name: 'hc-tls', endpoint: 'api.corp.hcctl.test:443', defaultRules: true},
        {name: 'hc-tls-ok', endpoint: 'api.corp.hcctl.test:8443', defaultRules: true},
      ],
    },
  ],
  attachments: [
    {resourceGroup: RG, site: 'app-ok', namespace: NS, hybridConnection: 'hc-ok'},
    {resourceGroup: RG, site: 'app-dup', namespace: NS, hybridConnection: 'hc-dup1'},
    {resourceGroup: RG, site: 'app-dup', namespace: NS, hybridConnection: 'hc-dup2'},
    {resourceGroup: RG, site: 'app-vnet', namespace: NS, hybridConnection: 'hc-vnet'},
    {resourceGroup: RG, site: 'app-tls', namespace: NS, hybridConnection: 'hc-tls'},
    {resourceGroup: RG, site: 'app-tls-ok', namespace: NS, hybridConnection: 'hc-tls-ok'},
  ],
}

type Check = CheckRunResult['checks'][number]
const GW = (g: string) => `${g}-prod-emu-001-sb.servicebus.localhost`

describe('beyond the other tools: gateways, endpoint checks, what the app resolves (real processes, emulator)', function () {
  this.timeout(90_000)
  let emu: Emulator
  let env: NodeJS.ProcessEnv
  const servers: TlsServer[] = []
  const agents: Agent[] = []

  async function tlsServer(names: string[]): Promise<number> {
    const ca = await createCertificateAuthority('on-prem test CA')
    const cert = await createServerCertificate(ca, {dnsNames: names})
    const server = createTlsServer({cert: cert.cert, key: cert.key}, (s) => {
      s.on('error', () => {})
      s.end()
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    servers.push(server)
    return (server.address() as AddressInfo).port
  }

  async function startAgent(hc: string, port: number): Promise<void> {
    const path = `/subscriptions/${emu.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Relay/namespaces/${NS}/hybridConnections/${hc}`
    const keys = await expectOk(call(emu, 'POST', `${path}/authorizationRules/defaultListener/listKeys`))
    const agent = new Agent({
      hybridConnections: [{credentials: credentialsFromKey({host: `${NS}${emu.relaySuffix}`, entity: hc, keyName: 'defaultListener', key: keys.json.primaryKey}), endpoint: {host: '127.0.0.1', port}}],
      transport: transportFromCloud(emu.profile),
      drainTimeoutMs: 200,
    })
    await agent.start()
    agents.push(agent)
  }

  async function check(args: string[]): Promise<{code: number | null; body: CheckRunResult; byId: (id: string) => Check; stderr: string}> {
    const r = await runCli(['check', ...args, '--cloud', 'emulator', '--timeout', '5s', '--json'], {env, timeoutMs: 80_000})
    const body = r.json<CheckRunResult>()
    const byId = (id: string) => {
      const found = body.checks.find((c) => c.id === id)
      assert.ok(found, `no check ${id} in ${body.checks.map((c) => c.id).join(', ')}`)
      return found
    }
    return {code: r.code, body, byId, stderr: r.stderr}
  }

  const runs = new Map<string, ReturnType<typeof check>>()
  const run = (key: string, args: string[]) => {
    if (!runs.has(key)) runs.set(key, check(args))
    return runs.get(key)!
  }
  const appArgs = (app: string) => ['--app', app, '--resource-group', RG]

  before(async () => {
    emu = await startEmulator({inMemory: true, seed: SEED})
    env = {HCCTL_EMULATOR_STATE: emu.stateDir}
    // app-vnet: a VNet-integrated app whose private DNS zone knows the endpoint's name.
    await expectOk(call(emu, 'PUT', `/subscriptions/${emu.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/app-vnet`, {body: {tags: {[PRIVATE_DNS_TAG]: 'db02.corp.hcctl.test=10.20.30.40'}}}))
    // The TLS scenarios: an agent in front of a service with a certificate for another name, and one for the right name.
    await startAgent('hc-tls', await tlsServer(['intranet.other.hcctl.test']))
    await startAgent('hc-tls-ok', await tlsServer(['api.corp.hcctl.test']))
    // The check runs start together, three at a time (each is a process of a few seconds).
    const pending: Array<() => Promise<unknown>> = [
      () => run('ok', [...appArgs('app-ok'), '--gateways']),
      () => run('named', ['hc-named', '--namespace', NS, '--resource-group', RG]),
      () => run('browser', ['hc-browser', '--namespace', NS, '--resource-group', RG]),
      () => run('ftp', ['hc-ftp', '--namespace', NS, '--resource-group', RG]),
      () => run('dup', appArgs('app-dup')),
      () => run('vnet', appArgs('app-vnet')),
      () => run('tls', [...appArgs('app-tls'), '--probe', 'tls']),
      () => run('tls-ok', [...appArgs('app-tls-ok'), '--probe', 'tls']),
    ].map((f) => () => f().catch(() => undefined))
    await Promise.all(Array.from({length: 3}, async () => {
      for (let next = pending.shift(); next; next = pending.shift()) await next()
    }))
  })

  after(async () => {
    await Promise.all(agents.map((a) => Promise.race([a.stop(), new Promise((r) => setTimeout(r, 1000).unref())])))
    for (const s of servers) s.close()
    await emu.stop()
  })

  describe('hcctl gateways', () => {
    it('prints the 256 names of the stamp read from the namespace\'s alias, one per line, exit 0', async () => {
      const r = await runCli(['gateways', NS, '--cloud', 'emulator'], {env})
      assert.equal(r.code, 0, r.stderr)
      const lines = r.stdout.trim().split('\n')
      assert.equal(lines.length, 256)
      assert.equal(lines[0], GW('G0'))
      assert.equal(lines[255], GW('GV127'))
      assert.match(r.stderr, /stamp emu-001 \(alias ns-sb2-prod-emu-001\.cloudapp\.localhost\)/)
    })

    it('--probe: reachable and blocked counts, the blocked names on stderr and in the CSV, exit 3', async () => {
      const r = await runCli(['gateways', NS, '--resource-group', RG, '--probe', '--format', 'csv', '--cloud', 'emulator'], {env, timeoutMs: 80_000})
      assert.equal(r.code, 3, r.stderr)
      assert.match(r.stderr, /253 reachable, 3 blocked, 0 unknown/)
      for (const g of [...RESET_GATEWAYS, ...NXDOMAIN_GATEWAYS]) assert.match(r.stderr, new RegExp(`^blocked: ${GW(g)} `, 'm'))
      const rows = r.stdout.trim().split('\n')
      assert.equal(rows[0], 'name,group,index,address,port,status,error')
      assert.equal(rows.length, 257)
      assert.match(rows.find((l) => l.startsWith(`${GW('G42')},`))!, /,blocked,dns: no such name/)
      assert.match(rows.find((l) => l.startsWith(`${GW('G0')},`))!, /,127\.0\.0\.1,\d+,reachable,$/)
    })

    it('--stamp overrides DNS; every gateway of the open stamp is reachable: --json, exit 0', async () => {
      const r = await runCli(['gateways', NS, '--stamp', 'emu-002', '--probe', '--concurrency', '16', '--cloud', 'emulator', '--json'], {env, timeoutMs: 80_000})
      assert.equal(r.code, 0, r.stderr)
      const body = r.json<GatewaysResult>()
      assert.equal(body.stamp, 'emu-002')
      assert.equal(body.stampSource, 'flag')
      assert.deepEqual(body.counts, {total: 256, reachable: 256, resolved: 0, blocked: 0, unknown: 0})
      assert.equal(body.ok, true)
      assert.equal(body.wildcard, '*.servicebus.localhost')
    })

    it('errors: a missing namespace (exit 4), a malformed --stamp (exit 2), both with --json', async () => {
      const missing = await runCli(['gateways', 'no-such-relay', '--resource-group', RG, '--cloud', 'emulator', '--json'], {env})
      assert.equal(missing.code, 4, missing.stdout)
      assert.equal(missing.json<{error: {code: string}}>().error.code, 'NamespaceNotFound')
      const bad = await runCli(['gateways', NS, '--stamp', 'not a stamp', '--cloud', 'emulator', '--json'], {env})
      assert.equal(bad.code, 2, bad.stdout)
      assert.equal(bad.json<{error: {code: string}}>().error.code, 'InvalidStamp')
    })
  })

  describe('hcctl check', () => {
    it('--gateways: net.gateways fails naming the blocked gateways and the allowlist command', async () => {
      const r = await run('ok', [])
      const g = r.byId('net.gateways')
      assert.equal(g.status, 'fail')
      assert.match(g.evidence[0]!, /^stamp emu-001 \(alias ns-sb2-prod-emu-001\.cloudapp\.localhost\): 253 of 256 reachable, 3 blocked$/)
      assert.deepEqual(g.data?.blocked, [GW('G7'), GW('G42'), GW('GV100')])
      assert.match(g.remedy!, /hcctl gateways bynd-relay > allowlist\.txt/)
      assert.equal(r.code, 3)
    })

    it('a healthy endpoint passes the new checks: static TCP port, unique, the app\'s DNS does not know the on-prem name', async () => {
      const r = await run('ok', [])
      assert.equal(r.byId('endpoint.service').status, 'pass')
      assert.equal(r.byId('endpoint.unique').status, 'pass')
      const res = r.byId('app.name-resolution')
      assert.equal(res.status, 'pass', res.evidence.join('; '))
      assert.equal(res.data?.redirect, 'hybrid-connection')
      assert.match(res.evidence.join('\n'), /does not know the name/)
      assert.match(res.evidence.join('\n'), /exactly "db01\.corp\.hcctl\.test" \(any letter case\) go through bynd-relay\/hc-ok/)
    })

    it('a SQL Server named instance in the metadata: endpoint.service fails with the static-port remedy', async () => {
      const r = await run('named', [])
      const e = r.byId('endpoint.service')
      assert.equal(e.status, 'fail')
      assert.match(e.evidence[0]!, /SQLEXPRESS" is a SQL Server named instance/)
      assert.match(e.remedy!, /static TCP port/)
      assert.equal(r.code, 3)
    })

    it('SQL Browser (1434) fails; FTP warns about passive mode', async () => {
      const browser = await run('browser', [])
      assert.equal(browser.byId('endpoint.service').status, 'fail')
      assert.match(browser.byId('endpoint.service').evidence.join(' '), /SQL Server Browser \(UDP 1434\)/)
      const ftp = await run('ftp', [])
      assert.equal(ftp.byId('endpoint.service').status, 'warn')
      assert.match(ftp.byId('endpoint.service').evidence.join(' '), /passive/)
    })

    it('two hybrid connections of one app on the same host:port: endpoint.unique fails on both', async () => {
      const r = await run('dup', [])
      const unique = r.body.checks.filter((c) => c.id === 'endpoint.unique')
      assert.deepEqual(unique.map((c) => [c.target, c.status, c.data?.duplicates]), [
        [`${NS}/hc-dup1`, 'fail', [`${NS}/hc-dup2`]],
        [`${NS}/hc-dup2`, 'fail', [`${NS}/hc-dup1`]],
      ])
      assert.match(unique[0]!.remedy!, /hcctl disconnect/)
    })

    it('a VNet-integrated app whose private DNS answers the name first: app.name-resolution fails (sent elsewhere)', async () => {
      const r = await run('vnet', [])
      const res = r.byId('app.name-resolution')
      assert.equal(res.status, 'fail')
      assert.equal(res.data?.redirect, 'elsewhere')
      assert.deepEqual(res.data?.addresses, ['10.20.30.40'])
      assert.match(res.evidence.join('\n'), /answers 10\.20\.30\.40/)
      assert.match(res.remedy!, /private DNS zone/)
    })

    it('--probe tls: a certificate for another name fails endpoint.tls-name; the right name passes the name test', async () => {
      const bad = await run('tls', [])
      const t = bad.byId('endpoint.tls-name')
      assert.equal(t.status, 'fail', t.evidence.join('; '))
      assert.match(t.evidence.join('\n'), /intranet\.other\.hcctl\.test/)
      assert.match(t.evidence.join('\n'), /not valid for api\.corp\.hcctl\.test/)
      assert.equal(bad.byId('roundtrip.connect').status, 'pass')
      assert.equal(bad.code, 3)
      const good = await run('tls-ok', [])
      const ok = good.byId('endpoint.tls-name')
      assert.equal(ok.data?.nameMatches, true, ok.evidence.join('; '))
      assert.equal(ok.status, 'warn', 'valid for the name, but from a CA this machine does not trust')
    })

    it('the people table shows the new ids', async () => {
      const r = await runCli(['check', 'hc-ftp', '--namespace', NS, '--resource-group', RG, '--cloud', 'emulator'], {env})
      assert.match(r.stdout, /^! endpoint\.service +The endpoint is a TCP service on a static port +port 21 is FTP$/m)
    })
  })
})
