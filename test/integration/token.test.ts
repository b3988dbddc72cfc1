import {strict as assert} from 'node:assert'

import {runCli} from '../helpers/cli.js'
import {fakeJwt, type ScriptedServer, startScriptedServer} from '../helpers/scripted-server.js'

const ISSUED = fakeJwt({aud: 'https://management.scripted.test', exp: 4102444800, tid: 'tenant-1', oid: 'principal-1'})
const SECRET = 'profile-client-secret-value-123'

describe('hcctl token and sign-in (real process, scripted token service)', function () {
  this.timeout(30_000)
  let s: ScriptedServer

  before(async () => {
    s = await startScriptedServer({
      tokenService: {tenant: 'tenant-1', clientId: 'client-1', clientSecret: SECRET, accessToken: ISSUED},
      profile: {defaults: {tenantId: 'tenant-1', clientId: 'client-1', clientSecret: SECRET, subscriptionId: 'sub-from-profile'}},
    })
  })
  after(async () => {
    await s.close()
  })
  beforeEach(() => s.reset())

  it('--access-token: prints that token (and only on stdout); --decode prints claims and expiry instead', async () => {
    const raw = fakeJwt({aud: 'x', exp: 4102444800, name: 'me'})
    const r = await runCli(['token', '--access-token', raw])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `${raw}\n`)
    assert.ok(!r.stderr.includes(raw))
    const d = await runCli(['token', '--decode', '--json'], {env: {HCCTL_ACCESS_TOKEN: raw}})
    assert.equal(d.code, 0, d.stderr)
    const out = d.json<{claims: {name: string}; expiresOn: string; expiresInSeconds: number}>()
    assert.equal(out.claims.name, 'me')
    assert.equal(out.expiresOn, '2100-01-01T00:00:00.000Z')
    assert.ok(out.expiresInSeconds > 0)
    assert.ok(!d.stdout.includes(raw), 'no token with --decode')
    const opaque = await runCli(['token', '--decode', '--access-token', 'opaque-not-a-jwt'])
    assert.equal(opaque.code, 2, `signal ${opaque.signal}; stderr: ${opaque.stderr}`)
    assert.match(opaque.stderr, /not a JWT/)
  })

  it("the emulator-style profile signs in with its principal at the profile's authority (private CA), and ARM gets that token", async () => {
    const r = await runCli(['token', '--cloud', s.profilePath, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const t = r.json<{accessToken: string; scope: string}>()
    assert.equal(t.accessToken, ISSUED)
    assert.equal(t.scope, 'https://management.scripted.test/.default')
    const tokenReq = s.requests.find((q) => q.method === 'POST')!
    const form = new URLSearchParams(tokenReq.body)
    assert.equal(form.get('grant_type'), 'client_credentials')
    assert.equal(form.get('scope'), 'https://management.scripted.test/.default')

    s.on('GET /subscriptions/sub-from-profile/resourceGroups', [{body: {value: [{name: 'rg'}]}}])
    const arm = await runCli(['arm', 'get', '/subscriptions/{subscriptionId}/resourceGroups?api-version=2022-09-01', '--cloud', s.profilePath, '--json', '--verbose'])
    assert.equal(arm.code, 0, arm.stderr)
    assert.equal(s.seen('GET /subscriptions/sub-from-profile/resourceGroups')[0]!.headers.authorization, `Bearer ${ISSUED}`)
    for (const text of [arm.stdout, arm.stderr]) {
      assert.ok(!text.includes(ISSUED))
      assert.ok(!text.includes(SECRET))
    }
  })

  it('--scope asks for another scope; a bare resource URI gets /.default', async () => {
    const r = await runCli(['token', '--cloud', s.profilePath, '--scope', 'https://vault.scripted.test', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json<{scope: string}>().scope, 'https://vault.scripted.test/.default')
    assert.equal(new URLSearchParams(s.requests.find((q) => q.method === 'POST')!.body).get('scope'), 'https://vault.scripted.test/.default')
  })

  it('a rejected client secret is exit 5 naming the source tried, without the secret', async () => {
    const bad = await runCli(['arm', 'get', '/subscriptions/x/resourceGroups?api-version=2022-09-01', '--cloud', s.profilePath, '--json'], {
      env: {AZURE_CLIENT_ID: 'client-1', AZURE_TENANT_ID: 'tenant-1', AZURE_CLIENT_SECRET: 'wrong-secret-value', AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential', AZURE_AUTHORITY_HOST: s.url},
    })
    assert.equal(bad.code, 5, bad.stdout + bad.stderr)
    const e = bad.json<{error: {code: string; message: string; exitCode: number; data: {sources: string[]; reasons: string[]}}}>().error
    assert.equal(e.code, 'AuthenticationFailed')
    assert.match(e.message, /Tried: environment service principal/)
    assert.match(e.data.reasons.join(' '), /AADSTS7000215|invalid_client|Invalid client secret/i)
    assert.ok(!bad.stdout.includes('wrong-secret-value') && !bad.stderr.includes('wrong-secret-value'))
    assert.equal(s.requests.filter((q) => q.path.startsWith('/subscriptions')).length, 0, 'no ARM call without a token')
  })

  it('the default chain with nothing configured is exit 5 and lists the sources', async () => {
    const r = await runCli(['token'], {env: {AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential'}})
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, /Tried: environment service principal/)
    assert.match(r.stderr, /az login/)
  })
})
