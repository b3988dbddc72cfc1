import {strict as assert} from 'node:assert'

import {loadSigningKey, TokenService} from '../../../src/emulator/tokens.js'
import {freshState, StateStore} from '../../../src/emulator/state.js'

describe('emulator token service: verify', () => {
  const ARM = 'https://127.0.0.1:1234'
  let now = 1_700_000_000_000
  let svc: TokenService
  let other: TokenService
  let state: StateStore
  before(async () => {
    state = new StateStore(freshState())
    const [a, b] = await Promise.all([loadSigningKey(), loadSigningKey()])
    svc = new TokenService({state, key: a, baseUrl: () => ARM, now: () => now})
    other = new TokenService({state, key: b, baseUrl: () => ARM, now: () => now})
  })

  it('accepts its own token until exp, then says ExpiredAuthenticationToken', () => {
    const {token, claims} = svc.issue({principal: state.data.principals.contributor, audience: ARM, lifetimeSeconds: 60})
    assert.equal(claims.exp - claims.iat, 60)
    const ok = svc.verify(token, ARM)
    assert.ok(ok.ok && ok.principal.role === 'Contributor')
    now += 61_000
    const late = svc.verify(token, ARM)
    assert.ok(!late.ok && late.code === 'ExpiredAuthenticationToken')
  })

  it('with earlySeconds (the arm.expireTokensEarly fault) a token expires that much before its exp', () => {
    const {token} = svc.issue({principal: state.data.principals.contributor, audience: ARM, lifetimeSeconds: 3600})
    assert.ok(svc.verify(token, ARM, {earlySeconds: 3590}).ok)
    now += 11_000
    const early = svc.verify(token, ARM, {earlySeconds: 3590})
    assert.ok(!early.ok && early.code === 'ExpiredAuthenticationToken')
    assert.ok(svc.verify(token, ARM).ok, 'without the fault it is still good')
  })

  it('refuses a token signed with another key, for another tenant or for an unknown principal', () => {
    const foreign = other.issue({principal: state.data.principals.contributor, audience: ARM}).token
    const r1 = svc.verify(foreign, ARM)
    assert.ok(!r1.ok && r1.code === 'InvalidAuthenticationToken')
    const stranger = {...state.data.principals.reader, clientId: 'someone-else'}
    const r2 = svc.verify(svc.issue({principal: stranger, audience: ARM}).token, ARM)
    assert.ok(!r2.ok && r2.code === 'InvalidAuthenticationToken')
    const saved = state.data.tenantId
    const t = svc.issue({principal: state.data.principals.reader, audience: ARM}).token
    state.data.tenantId = 'another-tenant'
    try {
      const r3 = svc.verify(t, ARM)
      assert.ok(!r3.ok && r3.code === 'InvalidAuthenticationTokenTenant')
    } finally {
      state.data.tenantId = saved
    }
    const r4 = svc.verify('a.b.c', ARM)
    assert.ok(!r4.ok && r4.code === 'InvalidAuthenticationToken')
  })

  it('knows which paths are its own', () => {
    assert.ok(TokenService.isTokenPath('/abc/oauth2/v2.0/token'))
    assert.ok(TokenService.isTokenPath('/adfs/.well-known/openid-configuration'))
    assert.ok(TokenService.isTokenPath('/common/discovery/instance'))
    assert.ok(!TokenService.isTokenPath('/subscriptions/abc/resourceGroups'))
    assert.ok(!TokenService.isTokenPath('/tenants'))
  })
})
