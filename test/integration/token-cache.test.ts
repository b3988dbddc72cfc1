import {strict as assert} from 'node:assert'
import {existsSync, mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {TokenCacheClearedResult} from '../../src/lib/azure/token.js'
import {runCli} from '../helpers/cli.js'
import {fakeJwt, type ScriptedServer, startScriptedServer} from '../helpers/scripted-server.js'

const ISSUED = fakeJwt({aud: 'https://management.scripted.test', exp: 4102444800, tid: 'tenant-1', oid: 'principal-1'})
const SECRET = 'profile-client-secret-value-456'
const RG_PATH = '/subscriptions/sub-from-profile/resourceGroups'

describe('token cache across processes (real processes, scripted token service)', function () {
  this.timeout(60_000)
  let s: ScriptedServer
  const signIns = () => s.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/oauth2/v2.0/token')).length
  const configDir = () => mkdtempSync(join(tmpdir(), 'hcctl-cache-it-'))
  const armGet = (env: NodeJS.ProcessEnv) => runCli(['arm', 'get', `${RG_PATH}?api-version=2022-09-01`, '--cloud', s.profilePath, '--json'], {env})

  before(async () => {
    s = await startScriptedServer({
      tokenService: {tenant: 'tenant-1', clientId: 'client-1', clientSecret: SECRET, accessToken: ISSUED},
      profile: {defaults: {tenantId: 'tenant-1', clientId: 'client-1', clientSecret: SECRET, subscriptionId: 'sub-from-profile'}},
    })
  })
  after(async () => {
    await s.close()
  })
  beforeEach(() => {
    s.reset()
    s.on(`GET ${RG_PATH}`, [{body: {value: [{name: 'rg'}]}}])
  })

  it('signs in once: the next process takes the token from HCCTL_CONFIG_DIR/token-cache.json (mode 0600, no secret in it)', async () => {
    const dir = configDir()
    const first = await armGet({HCCTL_CONFIG_DIR: dir})
    assert.equal(first.code, 0, first.stderr)
    assert.equal(signIns(), 1)
    const second = await armGet({HCCTL_CONFIG_DIR: dir})
    assert.equal(second.code, 0, second.stderr)
    assert.equal(signIns(), 1, 'no second sign-in')
    assert.equal(s.seen(`GET ${RG_PATH}`)[1]!.headers.authorization, `Bearer ${ISSUED}`)
    const file = join(dir, 'token-cache.json')
    assert.equal(statSync(file).mode & 0o777, 0o600)
    const text = readFileSync(file, 'utf8')
    assert.ok(text.includes(ISSUED))
    assert.ok(!text.includes(SECRET), 'the client secret is never cached')
    assert.ok(!/refresh/i.test(text))
  })

  it('a 401 from ARM to a cached token drops it, signs in once more and succeeds', async () => {
    const dir = configDir()
    assert.equal((await armGet({HCCTL_CONFIG_DIR: dir})).code, 0)
    const file = join(dir, 'token-cache.json')
    writeFileSync(file, readFileSync(file, 'utf8').replace(ISSUED, 'stale-token'), {mode: 0o600})
    s.reset()
    s.on(`GET ${RG_PATH}`, (req) => (req.headers.authorization === 'Bearer stale-token' ? {status: 401, body: {error: {code: 'InvalidAuthenticationToken', message: 'The access token has expired.'}}} : {body: {value: []}}))
    const r = await armGet({HCCTL_CONFIG_DIR: dir})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.deepEqual(
      s.seen(`GET ${RG_PATH}`).map((q) => q.headers.authorization),
      ['Bearer stale-token', `Bearer ${ISSUED}`],
    )
    assert.equal(signIns(), 1)
    assert.ok(!readFileSync(file, 'utf8').includes('stale-token'), 'the refused token is gone from the cache')
  })

  it('HCCTL_TOKEN_CACHE=0 signs in every time and writes no cache; --access-token never touches it', async () => {
    const dir = configDir()
    for (let i = 0; i < 2; i++) assert.equal((await armGet({HCCTL_CONFIG_DIR: dir, HCCTL_TOKEN_CACHE: '0'})).code, 0)
    assert.equal(signIns(), 2)
    assert.equal(existsSync(join(dir, 'token-cache.json')), false)
    const given = await armGet({HCCTL_CONFIG_DIR: dir, HCCTL_ACCESS_TOKEN: 'given-token'})
    assert.equal(given.code, 0, given.stderr)
    assert.equal(signIns(), 2)
    assert.equal(existsSync(join(dir, 'token-cache.json')), false)
  })

  it('hcctl token --clear-cache empties it, so the next command signs in again', async () => {
    const dir = configDir()
    assert.equal((await armGet({HCCTL_CONFIG_DIR: dir})).code, 0)
    const cleared = await runCli(['token', '--clear-cache', '--json'], {env: {HCCTL_CONFIG_DIR: dir}})
    assert.equal(cleared.code, 0, cleared.stderr)
    const result = cleared.json<TokenCacheClearedResult>()
    assert.deepEqual(result, {path: join(dir, 'token-cache.json'), removed: 1})
    assert.ok(!cleared.stdout.includes(ISSUED))
    assert.equal(existsSync(result.path), false)
    assert.equal((await armGet({HCCTL_CONFIG_DIR: dir})).code, 0)
    assert.equal(signIns(), 2)
  })
})
