import {strict as assert} from 'node:assert'
import {chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type CloudProfile, configDir, emulatorStateDir} from '../../../src/lib/azure/clouds.js'
import {type AccessToken, type HcctlCredential, chainIdentity, createCredential} from '../../../src/lib/azure/credentials.js'
import {REFRESH_MARGIN_MS, TokenCache, type TokenCacheKey, cacheKeyId, cachedCredential, tokenCacheEnabled} from '../../../src/lib/azure/token-cache.js'

const KEY: TokenCacheKey = {cloud: 'AzureCloud https://management.azure.com', authority: 'https://login.microsoftonline.com', tenant: 't1', source: 'client:c1', scope: 'https://management.azure.com/.default'}
const HOUR = 3600_000

const tempDir = () => mkdtempSync(join(tmpdir(), 'hcctl-token-cache-'))

/** A credential that counts its sign-ins and hands out token-1, token-2, ... */
function countingCredential(lifetimeMs = HOUR, now = Date.now): HcctlCredential & {calls: number} {
  const c = {
    kind: 'default-chain' as const,
    sources: ['test'],
    calls: 0,
    async getToken(): Promise<AccessToken> {
      c.calls++
      return {token: `token-${c.calls}`, expiresOnTimestamp: now() + lifetimeMs}
    },
  }
  return c
}

describe('token cache', () => {
  it('the key is cloud, authority, tenant, credential source and scope: any of them differing is another entry', () => {
    const ids = new Set([
      cacheKeyId(KEY),
      cacheKeyId({...KEY, cloud: 'AzureUSGovernment https://management.usgovcloudapi.net'}),
      cacheKeyId({...KEY, authority: 'https://login.microsoftonline.us'}),
      cacheKeyId({...KEY, tenant: 't2'}),
      cacheKeyId({...KEY, source: 'client:c2'}),
      cacheKeyId({...KEY, scope: 'https://vault.azure.net/.default'}),
    ])
    assert.equal(ids.size, 6)
    assert.equal(cacheKeyId({...KEY}), cacheKeyId(KEY))
  })

  it("the default chain's source changes with AZURE_CLIENT_ID and with the az account, not with the secret's value", () => {
    const azDir = tempDir()
    const azAccount = (user: string) =>
      writeFileSync(join(azDir, 'azureProfile.json'), '\uFEFF' + JSON.stringify({subscriptions: [{id: 's', isDefault: true, tenantId: 'tz', user: {name: user, type: 'user'}}]}))
    azAccount('alice@contoso.test')
    const alice = chainIdentity({AZURE_CONFIG_DIR: azDir})
    assert.equal(alice.tenant, 'tz')
    azAccount('bob@contoso.test')
    const bob = chainIdentity({AZURE_CONFIG_DIR: azDir})
    assert.notEqual(bob.source, alice.source, 'switching az accounts')
    assert.notEqual(chainIdentity({AZURE_CONFIG_DIR: azDir, AZURE_CLIENT_ID: 'a'}).source, chainIdentity({AZURE_CONFIG_DIR: azDir, AZURE_CLIENT_ID: 'b'}).source)
    const secret1 = chainIdentity({AZURE_CLIENT_ID: 'a', AZURE_TENANT_ID: 't', AZURE_CLIENT_SECRET: 'one'})
    assert.equal(secret1.source, chainIdentity({AZURE_CLIENT_ID: 'a', AZURE_TENANT_ID: 't', AZURE_CLIENT_SECRET: 'two'}).source)
    assert.notEqual(secret1.source, chainIdentity({AZURE_CLIENT_ID: 'a', AZURE_TENANT_ID: 't'}).source, 'a secret set or not')
    assert.ok(!secret1.source.includes('one'))
  })

  it('writes the file with mode 0600 (the folder 0700), atomically, holding only tokens and expiries', () => {
    const dir = join(tempDir(), 'config')
    const cache = new TokenCache(join(dir, 'token-cache.json'))
    const old = process.umask(0o022)
    try {
      cache.set(KEY, {token: 'tok-a', expiresOnTimestamp: Date.now() + HOUR})
      cache.set({...KEY, scope: 'other'}, {token: 'tok-b', expiresOnTimestamp: Date.now() + HOUR})
    } finally {
      process.umask(old)
    }
    assert.equal(statSync(cache.path).mode & 0o777, 0o600)
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    assert.deepEqual(readdirSync(dir), ['token-cache.json'], 'no temporary file left behind')
    const file = JSON.parse(readFileSync(cache.path, 'utf8')) as {version: number; tokens: Record<string, Record<string, unknown>>}
    assert.equal(file.version, 1)
    for (const entry of Object.values(file.tokens)) assert.deepEqual(Object.keys(entry).sort(), ['expiresOnTimestamp', 'scope', 'token'])
    assert.equal(cache.get(KEY)?.token, 'tok-a')
  })

  it('a cache file that others can read is not trusted', () => {
    const cache = new TokenCache(join(tempDir(), 'token-cache.json'))
    cache.set(KEY, {token: 'tok', expiresOnTimestamp: Date.now() + HOUR})
    chmodSync(cache.path, 0o644)
    assert.equal(cache.get(KEY), undefined)
  })

  it('reuses a token only while it has more than 5 minutes left, and drops expired entries on write', () => {
    let now = 1_000_000
    const cache = new TokenCache(join(tempDir(), 'token-cache.json'), () => now)
    cache.set(KEY, {token: 'tok', expiresOnTimestamp: now + REFRESH_MARGIN_MS + 60_000})
    assert.equal(cache.get(KEY)?.token, 'tok')
    now += 60_000
    assert.equal(cache.get(KEY), undefined, 'at the margin it is due for renewal')
    now += REFRESH_MARGIN_MS
    cache.set({...KEY, scope: 'other'}, {token: 'tok2', expiresOnTimestamp: now + HOUR})
    assert.equal(Object.keys((JSON.parse(readFileSync(cache.path, 'utf8')) as {tokens: object}).tokens).length, 1)
  })

  it('a cached credential signs in once for many getToken calls, and again after invalidate', async () => {
    const cache = new TokenCache(join(tempDir(), 'token-cache.json'))
    const inner = countingCredential()
    const keyFor = (scope: string) => ({...KEY, scope})
    const first = cachedCredential(inner, {cache, keyFor})
    assert.equal((await first.getToken('s'))?.token, 'token-1')
    // another process: the cache answers
    const second = cachedCredential(inner, {cache, keyFor})
    assert.equal((await second.getToken('s'))?.token, 'token-1')
    assert.equal(inner.calls, 1)
    assert.equal(second.invalidate('token-1'), true)
    assert.equal((await second.getToken('s'))?.token, 'token-2')
    assert.equal(inner.calls, 2)
    assert.equal(cache.get(keyFor('s'))?.token, 'token-2')
    // a token just signed in for, by a credential that cannot sign in afresh: no retry, but the
    // refused token leaves the file so that the next process does not reuse it
    assert.equal(second.invalidate('token-2'), false)
    assert.equal(cache.get(keyFor('s')), undefined)
  })

  it('invalidate also makes the sign-in library forget the token (it holds tokens in memory as MSAL does); concurrent refusals each get true', async () => {
    const cache = new TokenCache(join(tempDir(), 'token-cache.json'))
    // Like MSAL: one token, handed out again until the credential is told to forget it.
    const inner = {
      kind: 'profile-service-principal' as const,
      sources: ['test'],
      calls: 0,
      current: undefined as string | undefined,
      async getToken(): Promise<AccessToken> {
        if (!inner.current) inner.current = `token-${++inner.calls}`
        return {token: inner.current, expiresOnTimestamp: Date.now() + HOUR}
      },
      invalidate(token: string) {
        if (token !== inner.current) return false
        inner.current = undefined
        return true
      },
    }
    const keyFor = (scope: string) => ({...KEY, scope})
    const first = cachedCredential(inner, {cache, keyFor})
    assert.equal((await first.getToken('s'))?.token, 'token-1')
    assert.equal(first.invalidate('token-1'), true, 'signed in for, not cached: the inner credential forgets it')
    assert.equal((await first.getToken('s'))?.token, 'token-2', 'a new sign-in, not the same token from memory')
    // another process reads token-2 from the file; two requests are refused with it at once
    const second = cachedCredential(inner, {cache, keyFor})
    assert.equal((await second.getToken('s'))?.token, 'token-2')
    assert.equal(second.invalidate('token-2'), true)
    assert.equal(second.invalidate('token-2'), true, 'the second refusal may sign in again too')
    assert.equal((await second.getToken('s'))?.token, 'token-3')
    assert.equal(second.invalidate('never-seen'), false)
  })

  it('an unreadable or unwritable cache costs sign-ins, never an error', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'token-cache.json'), 'not json')
    const inner = countingCredential()
    const broken = cachedCredential(inner, {cache: new TokenCache(join(dir, 'token-cache.json', 'nested')), keyFor: (scope) => ({...KEY, scope})})
    assert.equal((await broken.getToken('s'))?.token, 'token-1')
    assert.equal((await broken.getToken('s'))?.token, 'token-2')
  })

  it('HCCTL_TOKEN_CACHE=0 turns it off; HCCTL_CONFIG_DIR moves it', async () => {
    assert.equal(tokenCacheEnabled({}), true)
    for (const off of ['0', 'false', 'off']) assert.equal(tokenCacheEnabled({HCCTL_TOKEN_CACHE: off}), false)
    assert.equal(configDir({HCCTL_CONFIG_DIR: '/x/y'}), '/x/y')
    assert.equal(emulatorStateDir({HCCTL_CONFIG_DIR: '/x/y'}), '/x/y/emulator', 'the emulator state moves with the config folder')
    assert.equal(emulatorStateDir({HCCTL_CONFIG_DIR: '/x/y', HCCTL_EMULATOR_STATE: '/e'}), '/e', 'HCCTL_EMULATOR_STATE wins')
    const cloud: CloudProfile = {
      name: 'emulator',
      armEndpoint: 'https://127.0.0.1:1',
      armAudience: 'https://127.0.0.1:1',
      authorityHost: 'https://127.0.0.1:1',
      relaySuffix: '.r',
      appServiceSuffix: '.a',
      defaults: {tenantId: 't', clientId: 'c', clientSecret: 's'},
    }
    const dir = tempDir()
    const cached = createCredential({cloud, env: {HCCTL_CONFIG_DIR: dir}})
    assert.equal(typeof (cached as {invalidate?: unknown}).invalidate, 'function')
    const off = createCredential({cloud, env: {HCCTL_CONFIG_DIR: dir, HCCTL_TOKEN_CACHE: '0'}})
    // without the cache, invalidate makes the sign-in library sign in again (it keeps tokens in memory)
    assert.equal(typeof (off as {invalidate?: unknown}).invalidate, 'function')
    // a cached token for the profile principal answers without signing in (the authority is unreachable)
    new TokenCache(join(dir, 'token-cache.json')).set(
      {cloud: `emulator ${cloud.armEndpoint}`, authority: cloud.authorityHost, tenant: 't', source: 'client:c', scope: 'x/.default'},
      {token: 'from-cache', expiresOnTimestamp: Date.now() + HOUR},
    )
    assert.equal((await cached.getToken('x/.default'))?.token, 'from-cache')
  })
})
