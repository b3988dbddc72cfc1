import {strict as assert} from 'node:assert'

import {loadProfileFile} from '../../../src/lib/azure/clouds.js'
import {createAzureContext} from '../../../src/lib/azure/context.js'
import {recordingLogger} from '../../../src/lib/output/logger.js'
import {fakeJwt, type ScriptedServer, startScriptedServer} from '../../helpers/scripted-server.js'

const TOKEN = fakeJwt({aud: 'https://management.scripted.test', exp: 4102444800})
const SUB = 'sub-1'
const NS = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Relay/namespaces/contoso`

describe('the Azure context in-process against a local HTTPS server with a private CA', function () {
  this.timeout(20_000)
  let s: ScriptedServer

  before(async () => {
    s = await startScriptedServer()
  })
  after(async () => {
    await s.close()
  })
  beforeEach(() => s.reset())

  it('@azure/arm-relay reaches the cloud endpoint, trusting the profile CA, with the bearer token (api-version 2017-04-01)', async () => {
    s.on(`GET ${NS}/hybridConnections/db01`, [
      {body: {id: `${NS}/hybridConnections/db01`, name: 'db01', type: 'Microsoft.Relay/Namespaces/HybridConnections', properties: {requiresClientAuthorization: true, listenerCount: 0, userMetadata: '[{"key":"endpoint","value":"db01:1433"}]'}}},
    ])
    const logger = recordingLogger()
    const ctx = createAzureContext({cloud: loadProfileFile(s.profilePath), subscription: SUB, accessToken: TOKEN, logger, env: {}})
    const relay = await ctx.relayApi()
    const hc = await relay.hybridConnections.get('rg', 'contoso', 'db01')
    assert.equal(hc.name, 'db01')
    assert.equal(hc.requiresClientAuthorization, true)
    const req = s.seen(`GET ${NS}/hybridConnections/db01`)[0]!
    assert.equal(req.query.get('api-version'), '2017-04-01')
    assert.equal(req.headers.authorization, `Bearer ${TOKEN}`)
    assert.ok(logger.lines.some((l) => l.startsWith(`→ GET ${s.url}${NS}/hybridConnections/db01`)), logger.lines.join('\n'))
    assert.ok(!logger.lines.join('\n').includes(TOKEN))
    assert.equal(await ctx.relayApi(), relay, 'built once')
    ctx.close()
  })

  it('the SDK follows nextLink pages too', async () => {
    const list = `${NS}/hybridConnections`
    s.on(`GET ${list}`, (req) => {
      const page = Number(req.query.get('page') ?? '1')
      return {body: {value: [{name: `hc${page}`}], nextLink: page < 3 ? `${s.url}${list}?api-version=2017-04-01&page=${page + 1}` : undefined}}
    })
    const ctx = createAzureContext({cloud: loadProfileFile(s.profilePath), subscription: SUB, accessToken: TOKEN, env: {}})
    const names: string[] = []
    for await (const hc of (await ctx.relayApi()).hybridConnections.listByNamespace('rg', 'contoso')) names.push(hc.name!)
    assert.deepEqual(names, ['hc1', 'hc2', 'hc3'])
    ctx.close()
  })

  it('the ARM client lists every page and reports ArmError from the real transport', async () => {
    const list = `/subscriptions/${SUB}/providers/Microsoft.Relay/namespaces`
    s.on(`GET ${list}`, (req) => {
      const page = Number(req.query.get('page') ?? '1')
      return {body: {value: [page], nextLink: page < 3 ? `${s.url}${list}?api-version=2021-11-01&page=${page + 1}` : null}}
    })
    s.on(`GET ${NS}`, [{status: 404, body: {Code: 'NotFound', Message: 'Cannot find namespace contoso.'}}])
    const ctx = createAzureContext({cloud: loadProfileFile(s.profilePath), subscription: SUB, accessToken: TOKEN, env: {}})
    assert.deepEqual(await ctx.arm.list('/subscriptions/{subscriptionId}/providers/Microsoft.Relay/namespaces'), [1, 2, 3])
    assert.equal(await ctx.arm.get(NS, {allowNotFound: true}), undefined)
    await assert.rejects(ctx.arm.get(NS), (e: Error & {exitCode: number; code: string}) => e.exitCode === 4 && e.code === 'NotFound')
    ctx.close()
  })
})
