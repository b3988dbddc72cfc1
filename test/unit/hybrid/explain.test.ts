import {strict as assert} from 'node:assert'

import {explain} from '../../../src/lib/hybrid/context.js'

/** A refused token (401) is a sign-in problem; a refused action (403) is a permission problem. */
describe('explain: 401 vs 403', () => {
  const remote = (statusCode: number, code: string, message: string) => Object.assign(new Error(message), {statusCode, code})

  it('401 ExpiredAuthenticationToken says to sign in again, not to ask for Contributor (exit 5)', () => {
    const e = explain(remote(401, 'ExpiredAuthenticationToken', 'The access token expiry UTC time is earlier than current UTC time.'), 'creating the namespace ns')
    assert.equal(e.exitCode, 5)
    assert.equal(e.code, 'ExpiredAuthenticationToken')
    assert.match(e.message, /^Azure refused the sign-in while creating the namespace ns: The access token expiry/)
    assert.match(e.suggestions.join(' '), /Sign in again/)
    assert.doesNotMatch(e.suggestions.join(' '), /Contributor/)
  })

  it('403 is still "Not allowed" with the role advice', () => {
    const e = explain(remote(403, 'AuthorizationFailed', 'no write'), 'creating the namespace ns')
    assert.equal(e.exitCode, 5)
    assert.match(e.message, /^Not allowed while creating/)
    assert.match(e.suggestions.join(' '), /Contributor/)
  })
})
