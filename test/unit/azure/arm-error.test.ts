import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {ArmError, isArmError, parseErrorBody} from '../../../src/lib/azure/arm-error.js'

describe('ArmError', () => {
  it('reads the ARM/OData shape with details and target', () => {
    const e = ArmError.fromResponse({
      status: 400,
      headers: {'x-ms-request-id': 'rid'},
      body: JSON.stringify({error: {code: 'InvalidRequestContent', message: 'bad body', target: 'properties.x', details: [{code: 'D1', message: 'detail one'}]}}),
    })
    assert.equal(e.code, 'InvalidRequestContent')
    assert.equal(e.message, 'bad body')
    assert.equal(e.target, 'properties.x')
    assert.deepEqual(e.details, [{code: 'D1', message: 'detail one'}])
    assert.equal(e.requestId, 'rid')
    assert.equal(e.exitCode, 2)
    assert.deepEqual(e.data, {status: 400, requestId: 'rid', target: 'properties.x', details: [{code: 'D1', message: 'detail one'}]})
  })

  it("reads App Service's flat PascalCase shape, including ErrorEntity details", () => {
    const body = {
      Code: 'Conflict',
      Message: 'Cannot modify this site because another operation is in progress.',
      Target: null,
      Details: [{Message: 'Cannot modify...'}, {Code: 'Conflict'}, {ErrorEntity: {ExtendedCode: '04068', Code: 'Conflict', Message: 'entity message'}}],
      Innererror: null,
    }
    const e = ArmError.fromResponse({status: 409, body: JSON.stringify(body)})
    assert.equal(e.code, 'Conflict')
    assert.match(e.message, /another operation/)
    assert.equal(e.exitCode, 6)
    assert.ok(e.details.some((d) => d.message === 'entity message'))
  })

  it('handles a BOM, non-JSON and empty bodies', () => {
    assert.equal(ArmError.fromResponse({status: 404, body: '\uFEFF{"error":{"code":"NotFound","message":"m"}}'}).code, 'NotFound')
    const html = ArmError.fromResponse({status: 502, body: '<html>Bad gateway</html>', method: 'GET', url: 'https://h/subscriptions/x?api-version=1'})
    assert.equal(html.code, 'BadGateway')
    assert.match(html.message, /HTTP 502 \(GET \/subscriptions\/x\): <html>Bad gateway<\/html>/)
    assert.equal(html.exitCode, 1)
    const empty = ArmError.fromResponse({status: 401, body: ''})
    assert.equal(empty.code, 'AuthenticationFailed')
    assert.equal(empty.exitCode, 5)
    assert.equal(ArmError.fromResponse({status: 403, body: ''}).exitCode, 5)
    assert.equal(ArmError.fromResponse({status: 412, body: ''}).exitCode, 6)
    assert.equal(ArmError.fromResponse({status: 400, body: '{"error":{"code":"SubscriptionLimitReached","message":"x"}}'}).exitCode, 6)
  })

  it('redacts secrets in messages', () => {
    const e = ArmError.fromResponse({status: 400, body: JSON.stringify({error: {code: 'X', message: 'bad key SharedAccessKey=c2VjcmV0PQ== here'}})})
    assert.ok(!e.message.includes('c2VjcmV0PQ=='))
  })

  it('is recognised by name as well as by class', () => {
    assert.ok(isArmError(ArmError.fromResponse({status: 500, body: ''})))
    assert.ok(isArmError({name: 'ArmError', status: 500}))
    assert.ok(!isArmError(new Error('x')))
  })

  it('never throws on any body (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), fc.integer({min: 400, max: 599}), (body, status) => {
        const e = ArmError.fromResponse({status, body})
        assert.equal(typeof e.code, 'string')
        assert.ok(e.code.length > 0)
        assert.equal(typeof e.message, 'string')
        assert.ok([1, 2, 4, 5, 6].includes(e.exitCode))
      }),
    )
    fc.assert(fc.property(fc.anything(), (value) => void parseErrorBody(value)))
  })
})
