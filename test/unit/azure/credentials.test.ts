import {strict as assert} from 'node:assert'
import {mkdtempSync, mkdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {createAzureContext, tuningFromEnv} from '../../../src/lib/azure/context.js'
import {authFailed, createCredential, decodeJwt, defaultChainSources, staticTokenCredential} from '../../../src/lib/azure/credentials.js'
import {azureProfilePath, readCliDefault, resolveSubscription} from '../../../src/lib/azure/subscription.js'
import type {CloudProfile} from '../../../src/lib/azure/clouds.js'

const cloud: CloudProfile = {
  name: 'AzureCloud',
  armEndpoint: 'https://arm.example.test',
  armAudience: 'https://arm.example.test',
  authorityHost: 'https://login.example.test',
  relaySuffix: '.relay.example.test',
  appServiceSuffix: '.apps.example.test',
}
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
const jwt = `${b64({alg: 'RS256', typ: 'JWT'})}.${b64({aud: 'https://arm.example.test', exp: 4102444800, oid: 'abc'})}.c2ln`

describe('credentials', () => {
  it('a static token: Bearer prefix stripped, expiry from exp', async () => {
    const c = staticTokenCredential(`Bearer ${jwt}`)
    assert.equal(c.kind, 'access-token')
    const t = await c.getToken('x')
    assert.equal(t?.token, jwt)
    assert.equal(t?.expiresOnTimestamp, 4102444800000)
    const opaque = await staticTokenCredential('opaque-token').getToken('x')
    assert.ok(opaque!.expiresOnTimestamp > Date.now())
    assert.throws(() => staticTokenCredential('  '), (e: Error & {exitCode: number}) => e.exitCode === 2)
  })

  it('decodes JWT claims, and says undefined for non-JWTs', () => {
    assert.deepEqual(decodeJwt(jwt)?.claims, {aud: 'https://arm.example.test', exp: 4102444800, oid: 'abc'})
    assert.equal(decodeJwt('abc'), undefined)
    assert.equal(decodeJwt('a.b.c'), undefined)
  })

  it('chooses: access token, then the profile principal (unless AZURE_CLIENT_ID is set), then the default chain', () => {
    assert.equal(createCredential({cloud, accessToken: 'x'}).kind, 'access-token')
    const emulator = {...cloud, name: 'emulator', defaults: {tenantId: 't', clientId: 'c', clientSecret: 's'}}
    assert.equal(createCredential({cloud: emulator, env: {}}).kind, 'profile-service-principal')
    assert.equal(createCredential({cloud: emulator, env: {AZURE_CLIENT_ID: 'mine'}}).kind, 'default-chain')
    assert.equal(createCredential({cloud, env: {}}).kind, 'default-chain')
  })

  it('names the sources of the default chain, honouring AZURE_TOKEN_CREDENTIALS', () => {
    const all = defaultChainSources({})
    assert.ok(all.some((s) => /Azure CLI/.test(s)))
    assert.ok(all.some((s) => /managed identity/.test(s)))
    assert.ok(all.some((s) => /workload identity/.test(s)))
    assert.equal(defaultChainSources({AZURE_TOKEN_CREDENTIALS: 'prod'}).length, 3)
    assert.deepEqual(defaultChainSources({AZURE_TOKEN_CREDENTIALS: 'AzureCliCredential'}), ['Azure CLI (az login)'])
  })

  it('auth failures are exit 5, list the sources and the reasons, redacted', () => {
    const inner = Object.assign(new Error('ChainedTokenCredential authentication failed.'), {
      errors: [Object.assign(new Error('EnvironmentCredential is unavailable.'), {name: 'CredentialUnavailableError'}), new Error(`bad token ${jwt}`)],
    })
    const e = authFailed('https://arm/.default', ['a', 'b'], inner)
    assert.equal(e.exitCode, 5)
    assert.match(e.message, /Tried: a; b\./)
    const reasons = e.data?.reasons as string[]
    assert.equal(reasons.length, 2)
    assert.match(reasons[0]!, /CredentialUnavailableError: EnvironmentCredential is unavailable/)
    assert.ok(!JSON.stringify(e.data).includes(jwt))
  })
})

describe('subscription', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hcctl-sub-'))
  const profile = (subs: unknown[]) => {
    const cfg = join(dir, `cfg-${Math.random().toString(36).slice(2)}`)
    mkdirSync(cfg)
    writeFileSync(join(cfg, 'azureProfile.json'), '\uFEFF' + JSON.stringify({installationId: 'i', subscriptions: subs}))
    return cfg
  }

  it('order: flag, AZURE_SUBSCRIPTION_ID, profile default, Azure CLI default', () => {
    const cfg = profile([{id: 'cli-sub', name: 'Dev', isDefault: true, environmentName: 'AzureCloud'}])
    const env = {AZURE_CONFIG_DIR: cfg, AZURE_SUBSCRIPTION_ID: 'env-sub'}
    const withDefault = {...cloud, defaults: {subscriptionId: 'profile-sub'}}
    assert.equal(resolveSubscription({flag: 'flag-sub', env, cloud: withDefault}).source, 'flag')
    assert.equal(resolveSubscription({env, cloud: withDefault}).id, 'env-sub')
    assert.equal(resolveSubscription({env: {AZURE_CONFIG_DIR: cfg}, cloud: withDefault}).id, 'profile-sub')
    const cli = resolveSubscription({env: {AZURE_CONFIG_DIR: cfg}, cloud})
    assert.equal(cli.id, 'cli-sub')
    assert.equal(cli.source, 'azure-cli')
    assert.match(cli.origin, /default: Dev/)
  })

  it('prefers the default of the matching cloud; ~/.azure when AZURE_CONFIG_DIR is unset', () => {
    const cfg = profile([
      {id: 'gov', isDefault: true, environmentName: 'AzureUSGovernment'},
      {id: 'pub', isDefault: true, environmentName: 'AzureCloud'},
      {id: 'other', isDefault: false},
    ])
    assert.equal(readCliDefault(join(cfg, 'azureProfile.json'), 'AzureCloud')?.id, 'pub')
    assert.equal(readCliDefault(join(cfg, 'azureProfile.json'), 'AzureUSGovernment')?.id, 'gov')
    assert.equal(azureProfilePath({}, '/home/u'), join('/home/u', '.azure', 'azureProfile.json'))
  })

  it('none found: a usage error naming the three ways; a broken file or a bad id is a usage error too', () => {
    assert.throws(() => resolveSubscription({env: {AZURE_CONFIG_DIR: join(dir, 'missing')}, cloud}), (e: Error & {exitCode: number; suggestions: string[]}) => {
      assert.equal(e.exitCode, 2)
      const s = e.suggestions.join(' ')
      assert.match(s, /--subscription/)
      assert.match(s, /AZURE_SUBSCRIPTION_ID/)
      assert.match(s, /az account set/)
      return true
    })
    const broken = join(dir, 'broken')
    mkdirSync(broken)
    writeFileSync(join(broken, 'azureProfile.json'), '{not json')
    assert.throws(() => resolveSubscription({env: {AZURE_CONFIG_DIR: broken}}), /Cannot read the Azure CLI profile/)
    assert.throws(() => resolveSubscription({flag: 'a/b'}), /not valid/)
  })
})

describe('azure context', () => {
  it('resolves the subscription lazily and only when asked', () => {
    const ctx = createAzureContext({cloud, accessToken: 'tok', env: {AZURE_CONFIG_DIR: '/nonexistent'}})
    assert.equal(ctx.credential.kind, 'access-token')
    assert.throws(() => ctx.subscriptionId, /No subscription/)
    const ok = createAzureContext({cloud, accessToken: 'tok', subscription: 'abc', env: {}})
    assert.equal(ok.subscriptionId, 'abc')
    assert.equal(ok.arm.subscriptionId, 'abc')
    assert.equal(ok.subscription().source, 'flag')
    ok.close()
  })

  it('reads the tuning knobs from the environment and rejects bad values', () => {
    assert.deepEqual(tuningFromEnv({HCCTL_HTTP_TIMEOUT: '0.5', HCCTL_MAX_RETRIES: '2', HCCTL_LRO_TIMEOUT: '60', HCCTL_PROXY_LOOPBACK: '1', HCCTL_RETRY_BUDGET: '30'}), {
      timeoutMs: 500,
      maxRetries: 2,
      retryBudgetMs: 30000,
      lroTimeoutMs: 60000,
      proxyLoopback: true,
    })
    assert.throws(() => tuningFromEnv({HCCTL_MAX_RETRIES: 'many'}), (e: Error & {exitCode: number}) => e.exitCode === 2)
    assert.throws(() => tuningFromEnv({HCCTL_RETRY_BUDGET: '-1'}), /HCCTL_RETRY_BUDGET=-1 is not valid/)
  })

  it('getToken returns the static token for the ARM scope', async () => {
    const ctx = createAzureContext({cloud, accessToken: jwt, env: {}})
    assert.equal((await ctx.getToken()).token, jwt)
  })
})
