import {strict as assert} from 'node:assert'
import {createPublicKey, verify} from 'node:crypto'

import {ClientSecretCredential, EnvironmentCredential} from '@azure/identity'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {call} from './helpers.js'

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
}

describe('emulator token service (clients we did not write)', () => {
  let emu: Emulator
  before(async () => {
    emu = await startEmulator({inMemory: true})
  })
  after(async () => emu.stop())

  it('@azure/identity ClientSecretCredential signs in and gets a signed JWT with aud, tid, oid, exp', async () => {
    const c = emu.principals.contributor
    const cred = new ClientSecretCredential(c.tenantId, c.clientId, c.clientSecret, {
      authorityHost: emu.authorityHost,
      disableInstanceDiscovery: true,
      tlsOptions: {ca: emu.ca},
    } as ConstructorParameters<typeof ClientSecretCredential>[3])
    const token = await cred.getToken(`${emu.armUrl}/.default`)
    const claims = claimsOf(token.token)
    assert.equal(claims.aud, emu.armUrl)
    assert.equal(claims.tid, emu.tenantId)
    assert.equal(claims.oid, c.objectId)
    assert.ok(typeof claims.exp === 'number' && claims.exp * 1000 > Date.now())
    assert.ok(typeof claims.iat === 'number')
    // The token is accepted by ARM.
    const subs = await call(emu, 'GET', '/subscriptions', {token: token.token})
    assert.equal(subs.status, 200)
    assert.equal(subs.json.value[0].subscriptionId, emu.subscriptionId)
  })

  it('@azure/identity EnvironmentCredential with AZURE_AUTHORITY_HOST signs in', async () => {
    const c = emu.principals.contributor
    const saved = {...process.env}
    Object.assign(process.env, {AZURE_TENANT_ID: c.tenantId, AZURE_CLIENT_ID: c.clientId, AZURE_CLIENT_SECRET: c.clientSecret, AZURE_AUTHORITY_HOST: emu.authorityHost})
    try {
      const cred = new EnvironmentCredential({disableInstanceDiscovery: true, tlsOptions: {ca: emu.ca}} as ConstructorParameters<typeof EnvironmentCredential>[0])
      const token = await cred.getToken('https://management.azure.com/.default')
      assert.equal(claimsOf(token.token).aud, 'https://management.azure.com')
      assert.equal((await call(emu, 'GET', '/subscriptions', {token: token.token})).status, 200)
    } finally {
      for (const k of ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_AUTHORITY_HOST']) {
        if (saved[k] === undefined) delete process.env[k]
        else process.env[k] = saved[k]
      }
    }
  })

  it('a wrong client secret is refused (AADSTS7000215) and no token is issued', async () => {
    const c = emu.principals.contributor
    const cred = new ClientSecretCredential(c.tenantId, c.clientId, 'wrong-secret', {
      authorityHost: emu.authorityHost,
      disableInstanceDiscovery: true,
      tlsOptions: {ca: emu.ca},
    } as ConstructorParameters<typeof ClientSecretCredential>[3])
    await assert.rejects(cred.getToken(`${emu.armUrl}/.default`), /7000215|invalid_client/)
  })

  it('serves OIDC discovery (tenant v2, v1 and the ADFS form) and a JWKS that verifies issued tokens', async () => {
    const v2 = await call(emu, 'GET', `/${emu.tenantId}/v2.0/.well-known/openid-configuration`, {token: null, apiVersion: null})
    assert.equal(v2.status, 200)
    assert.equal(v2.json.token_endpoint, `${emu.armUrl}/${emu.tenantId}/oauth2/v2.0/token`)
    const adfs = await call(emu, 'GET', '/adfs/.well-known/openid-configuration', {token: null, apiVersion: null})
    assert.equal(adfs.status, 200)
    assert.equal(adfs.json.token_endpoint, `${emu.armUrl}/adfs/oauth2/token`)
    const jwks = await call(emu, 'GET', adfs.json.jwks_uri, {token: null, apiVersion: null})
    const jwk = jwks.json.keys[0]
    const token = emu.tokens.issue({principal: emu.state.data.principals.reader, audience: 'x'}).token
    const [h, p, s] = token.split('.')
    assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({key: jwk, format: 'jwk'}), Buffer.from(s!, 'base64url')))
    const unknownTenant = await call(emu, 'GET', '/not-a-tenant/v2.0/.well-known/openid-configuration', {token: null, apiVersion: null})
    assert.equal(unknownTenant.status, 400)
  })

  it('the v1 and ADFS token endpoints take resource or scope (the Azure CLI asks for management.core.windows.net/)', async () => {
    const c = emu.principals.contributor
    const form = (extra: Record<string, string>) => new URLSearchParams({grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret, ...extra}).toString()
    const v1 = await call(emu, 'POST', `/${emu.tenantId}/oauth2/token`, {token: null, apiVersion: null, rawBody: form({resource: 'https://management.core.windows.net/'}), headers: {'content-type': 'application/x-www-form-urlencoded'}})
    assert.equal(v1.status, 200, v1.text)
    assert.equal(v1.json.resource, 'https://management.core.windows.net/')
    assert.match(v1.json.expires_on, /^\d+$/)
    assert.equal((await call(emu, 'GET', '/subscriptions', {token: v1.json.access_token})).status, 200)
    const adfs = await call(emu, 'POST', '/adfs/oauth2/token', {token: null, apiVersion: null, rawBody: form({scope: 'https://management.core.windows.net//.default'})})
    assert.equal(adfs.status, 200, adfs.text)
    assert.equal(claimsOf(adfs.json.access_token).aud, 'https://management.core.windows.net/')
    assert.equal((await call(emu, 'GET', '/subscriptions', {token: adfs.json.access_token})).status, 200)
    const badGrant = await call(emu, 'POST', `/${emu.tenantId}/oauth2/v2.0/token`, {token: null, apiVersion: null, rawBody: form({grant_type: 'password', scope: 'a/.default'})})
    assert.equal(badGrant.status, 400)
    assert.equal(badGrant.json.error, 'unsupported_grant_type')
  })

  it('ARM answers 401 with an ARM error body to a missing, malformed, forged, expired or wrong-audience token', async () => {
    const path = '/subscriptions'
    const missing = await call(emu, 'GET', path, {token: null})
    assert.equal(missing.status, 401)
    assert.equal(missing.json.error.code, 'AuthenticationFailed')
    assert.match(String(missing.headers['www-authenticate']), /^Bearer authorization_uri=/)
    assert.equal((await call(emu, 'GET', path, {token: 'not-a-jwt'})).json.error.code, 'InvalidAuthenticationToken')
    const principal = emu.state.data.principals.contributor
    const expired = emu.tokens.issue({principal, audience: emu.armUrl, lifetimeSeconds: -10}).token
    const r1 = await call(emu, 'GET', path, {token: expired})
    assert.equal(r1.status, 401)
    assert.equal(r1.json.error.code, 'ExpiredAuthenticationToken')
    const wrongAud = emu.tokens.issue({principal, audience: 'https://vault.azure.net'}).token
    const r2 = await call(emu, 'GET', path, {token: wrongAud})
    assert.equal(r2.status, 401)
    assert.equal(r2.json.error.code, 'InvalidAuthenticationTokenAudience')
    const good = emu.tokens.issue({principal, audience: emu.armUrl}).token
    const [h, p] = good.split('.')
    const forged = `${h}.${p}.${Buffer.from('forged').toString('base64url')}`
    assert.equal((await call(emu, 'GET', path, {token: forged})).json.error.code, 'InvalidAuthenticationToken')
    for (const aud of [`${emu.armUrl}/`, 'https://management.azure.com/', 'https://management.azure.com', 'https://management.core.windows.net/', 'https://management.core.windows.net']) {
      assert.equal((await call(emu, 'GET', path, {token: emu.tokens.issue({principal, audience: aud}).token})).status, 200, aud)
    }
  })
})
