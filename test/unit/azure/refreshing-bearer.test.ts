import {strict as assert} from 'node:assert'

import {refreshingBearerPolicy} from '../../../src/lib/azure/context.js'
import type {AccessToken} from '../../../src/lib/azure/credentials.js'
import {silentLogger} from '../../../src/lib/output/logger.js'

/**
 * The bearer policy of the Relay SDK client (create, attach, ... use it): a token per request
 * from the credential, and after a 401 to a token the credential can replace, one more sign-in
 * and one more try. The SDK's own policy kept a refused token and failed the command.
 */
type Policy = ReturnType<typeof refreshingBearerPolicy>
type Request = Parameters<Policy['sendRequest']>[0]
type Next = Parameters<Policy['sendRequest']>[1]

function request(): Request {
  const headers = new Map<string, string>()
  return {url: 'https://arm/x', method: 'PUT', headers: {set: (k: string, v: string) => headers.set(k.toLowerCase(), v), get: (k: string) => headers.get(k.toLowerCase())}} as unknown as Request
}

function credential(replaceable: boolean) {
  const c = {
    current: 'old',
    signIns: 0,
    async getToken(): Promise<AccessToken> {
      return {token: c.current, expiresOnTimestamp: Date.now() + 3_600_000}
    },
    invalidate(token: string) {
      if (!replaceable || token !== c.current) return false
      c.current = `new-${++c.signIns}`
      return true
    },
  }
  return c
}

function server(statuses: number[], seen: string[], throwRestError = false): Next {
  return async (req) => {
    seen.push(String(req.headers.get('authorization')))
    const status = statuses.shift() ?? 200
    const response = {status, headers: req.headers, request: req}
    if (status >= 400 && throwRestError) throw Object.assign(new Error(`status ${status}`), {response})
    return response as unknown as Awaited<ReturnType<Next>>
  }
}

describe('refreshingBearerPolicy (the Relay SDK client)', () => {
  it('a 401 to a replaceable token: signs in once more and sends again', async () => {
    const seen: string[] = []
    const c = credential(true)
    const response = await refreshingBearerPolicy(c, 's', silentLogger).sendRequest(request(), server([401, 200], seen))
    assert.equal(response.status, 200)
    assert.deepEqual(seen, ['Bearer old', 'Bearer new-1'])
  })

  it('also when the 401 arrives as a thrown error carrying the response', async () => {
    const seen: string[] = []
    const response = await refreshingBearerPolicy(credential(true), 's', silentLogger).sendRequest(request(), server([401, 200], seen, true))
    assert.equal(response.status, 200)
    assert.equal(seen.length, 2)
  })

  it('only once: a second 401 is the answer', async () => {
    const seen: string[] = []
    const response = await refreshingBearerPolicy(credential(true), 's', silentLogger).sendRequest(request(), server([401, 401, 200], seen))
    assert.equal(response.status, 401)
    assert.equal(seen.length, 2)
  })

  it('a token the credential cannot replace (a given --access-token) is not sent again', async () => {
    const seen: string[] = []
    const response = await refreshingBearerPolicy(credential(false), 's', silentLogger).sendRequest(request(), server([401, 200], seen))
    assert.equal(response.status, 401)
    assert.deepEqual(seen, ['Bearer old'])
  })
})
