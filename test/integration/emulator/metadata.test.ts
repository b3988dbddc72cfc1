import {strict as assert} from 'node:assert'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {call} from './helpers.js'

describe("emulator: ARM's discovery document GET /metadata/endpoints", function () {
  this.timeout(30_000)
  let emu: Emulator

  before(async () => {
    emu = await startEmulator({inMemory: true})
  })
  after(async () => {
    await emu.stop()
  })

  it('answers the 2015-01-01 shape without a token, with its own URLs and its ADFS login endpoint', async () => {
    const r = await call(emu, 'GET', '/metadata/endpoints?api-version=2015-01-01', {token: null})
    assert.equal(r.status, 200, r.text)
    assert.deepEqual(r.json, {
      galleryEndpoint: `${emu.armUrl}/gallery/`,
      graphEndpoint: `${emu.armUrl}/graph/`,
      portalEndpoint: `${emu.armUrl}/portal/`,
      authentication: {loginEndpoint: `${emu.armUrl}/adfs/`, audiences: [`${emu.armUrl}/`]},
    })
  })

  it('answers the 2022-09-01 shape: one object for this cloud, ADFS as its identity provider', async () => {
    const r = await call(emu, 'GET', '/metadata/endpoints?api-version=2022-09-01', {token: null})
    assert.equal(r.status, 200, r.text)
    assert.equal(r.json.name, 'hcctl-emulator')
    assert.equal(r.json.resourceManager, `${emu.armUrl}/`)
    assert.deepEqual(r.json.authentication, {loginEndpoint: `${emu.armUrl}/adfs/`, audiences: [`${emu.armUrl}/`], tenant: 'adfs', identityProvider: 'ADFS'})
    for (const key of ['portal', 'graph', 'graphAudience', 'microsoftGraphResourceId']) {
      assert.ok(String(r.json[key]).startsWith(`${emu.armUrl}/`), `${key} is the emulator's own: ${r.json[key]}`)
    }
  })

  it("is found at '//metadata/endpoints' (the Azure CLI's URL for a registered 'https://host/') and with a token too", async () => {
    const r = await call(emu, 'GET', '//metadata/endpoints?api-version=2015-01-01', {token: null})
    assert.equal(r.status, 200, r.text)
    assert.equal(r.json.authentication.loginEndpoint, `${emu.armUrl}/adfs/`)
    const withToken = await call(emu, 'GET', '/metadata/endpoints?api-version=2022-09-01')
    assert.equal(withToken.status, 200, withToken.text)
  })

  it('the login endpoint it names is served: ADFS discovery points at a token endpoint that signs the principal in for the audience it names', async () => {
    const doc = await call(emu, 'GET', '/metadata/endpoints?api-version=2015-01-01', {token: null})
    const login = doc.json.authentication.loginEndpoint as string
    const oidc = await call(emu, 'GET', `${login}.well-known/openid-configuration`, {token: null})
    assert.equal(oidc.status, 200, oidc.text)
    const {clientId, clientSecret} = emu.principals.contributor
    const form = new URLSearchParams({grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: `${doc.json.authentication.audiences[0]}.default`})
    const token = await call(emu, 'POST', oidc.json.token_endpoint, {token: null, rawBody: form.toString(), headers: {'content-type': 'application/x-www-form-urlencoded'}})
    assert.equal(token.status, 200, token.text)
    const groups = await call(emu, 'GET', `/subscriptions/${emu.subscriptionId}/resourcegroups`, {token: token.json.access_token})
    assert.equal(groups.status, 200, groups.text)
  })

  it('refuses a missing or unknown api-version (400) and other methods (405), as ARM does', async () => {
    const missing = await call(emu, 'GET', '/metadata/endpoints', {token: null, apiVersion: null})
    assert.equal(missing.status, 400)
    assert.equal(missing.json.error.code, 'MissingApiVersionParameter')
    const unknown = await call(emu, 'GET', '/metadata/endpoints?api-version=2010-01-01', {token: null})
    assert.equal(unknown.status, 400)
    assert.match(unknown.json.error.message, /2015-01-01, 2022-09-01/)
    const post = await call(emu, 'POST', '/metadata/endpoints?api-version=2015-01-01', {token: null})
    assert.equal(post.status, 405)
  })
})
