import {strict as assert} from 'node:assert'

import {AzureArmClient, type ArmClientOptions, isIdempotent, retryAfterMs} from '../../../src/lib/azure/arm-client.js'
import {ArmError} from '../../../src/lib/azure/arm-error.js'
import type {CloudProfile} from '../../../src/lib/azure/clouds.js'
import {staticTokenCredential} from '../../../src/lib/azure/credentials.js'
import {TransportError} from '../../../src/lib/azure/transport.js'
import {recordingLogger} from '../../../src/lib/output/logger.js'
import {TEST_CLOUD, fakeTransport, json, type Step} from './fake-transport.js'

const cloud: CloudProfile = TEST_CLOUD
const SUB = '00000000-0000-0000-0000-000000000001'
const TOKEN = 'eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDAsIm9pZCI6IngifQ.c2ln'

function client(steps: Step[], extra: Partial<ArmClientOptions> = {}) {
  const fake = fakeTransport(steps)
  const logger = recordingLogger()
  const arm = new AzureArmClient({
    cloud,
    credential: staticTokenCredential(TOKEN),
    subscriptionId: SUB,
    transport: fake.transport,
    sleep: fake.sleep,
    now: fake.now,
    random: () => 0.5,
    logger,
    ...extra,
  })
  return {arm, logger, ...fake}
}

describe('ARM client', () => {
  describe('URLs and api-versions', () => {
    it('joins relative paths to the endpoint, fills {subscriptionId} and adds the provider api-version', () => {
      const {arm} = client([])
      assert.equal(
        arm.resolveUrl('/subscriptions/{subscriptionId}/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns'),
        `https://arm.example.test/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns?api-version=2021-11-01`,
      )
      assert.match(arm.resolveUrl('subscriptions/x/resourceGroups/rg/providers/microsoft.web/sites/a'), /\/subscriptions\/x\/.*api-version=2025-05-01$/)
      assert.match(arm.resolveUrl('/subscriptions/x/resourcegroups/rg'), /api-version=2022-09-01$/)
    })

    it('keeps the api-version of the URL, and an explicit one overrides both', () => {
      const {arm} = client([])
      assert.match(arm.resolveUrl('/subscriptions/x/providers/Microsoft.Web/sites?api-version=2020-01-01'), /api-version=2020-01-01$/)
      assert.match(arm.resolveUrl('/subscriptions/x/providers/Microsoft.Web/sites?$top=1&api-version=2020-01-01', '2023-01-01'), /\?\$top=1&api-version=2023-01-01$/)
      assert.match(arm.resolveUrl('/providers/Microsoft.Foo/bars', '2024-01-01'), /\?api-version=2024-01-01$/)
    })

    it('refuses an unknown provider without api-version, and absolute URLs off the ARM endpoint', () => {
      const {arm} = client([])
      assert.throws(() => arm.resolveUrl('/subscriptions/x/providers/Microsoft.Foo/bars/b'), (e: Error & {exitCode: number; code: string}) => {
        assert.equal(e.exitCode, 2)
        assert.equal(e.code, 'MissingApiVersion')
        assert.match(e.message, /Microsoft\.Foo/)
        return true
      })
      assert.throws(() => arm.resolveUrl('https://evil.example.test/subscriptions/x?api-version=1'), /not this cloud's ARM endpoint/)
      assert.equal(arm.resolveUrl('https://ARM.example.test/subscriptions/x?api-version=1'), 'https://arm.example.test/subscriptions/x?api-version=1')
    })
  })

  describe('requests', () => {
    it('sends bearer auth, a client request id, JSON body, user headers; parses the JSON answer', async () => {
      const {arm, requests, logger} = client([json(200, {id: 'x'}, {'x-ms-request-id': 'rid-1'})])
      const res = await arm.request({method: 'PUT', path: '/subscriptions/s/resourceGroups/rg', body: {location: 'westus'}, headers: {'If-Match': '*'}})
      assert.deepEqual(res.body, {id: 'x'})
      assert.equal(res.requestId, 'rid-1')
      const req = requests[0]!
      assert.equal(req.headers.authorization, `Bearer ${TOKEN}`)
      assert.match(req.headers['x-ms-client-request-id']!, /^[0-9a-f-]{36}$/)
      assert.equal(req.headers['content-type'], 'application/json')
      assert.equal(req.headers['if-match'], '*')
      assert.equal(req.body, '{"location":"westus"}')
      assert.match(logger.lines[0]!, /^→ PUT https:\/\/arm\.example\.test\/subscriptions\/s\/resourceGroups\/rg\?api-version=2022-09-01$/)
      assert.match(logger.lines[1]!, /^← 200 PUT https:\/\/\S+ \d+ms rid-1$/)
      assert.ok(!logger.lines.join('\n').includes(TOKEN))
    })

    it('returns non-JSON text bodies as text, and rejects broken JSON clearly', async () => {
      const {arm} = client([{status: 200, headers: {'content-type': 'text/plain'}, body: 'hello'}, {status: 200, body: '{"a":'}])
      assert.equal((await arm.request({method: 'GET', path: '/subscriptions/s'})).body, 'hello')
      await assert.rejects(arm.request({method: 'GET', path: '/subscriptions/s'}), (e: Error & {code: string; exitCode: number}) => {
        assert.equal(e.code, 'InvalidResponse')
        assert.equal(e.exitCode, 1)
        assert.match(e.message, /invalid JSON/)
        return true
      })
    })

    it('throws ArmError with the exit code of the status', async () => {
      const {arm} = client([json(404, {error: {code: 'ResourceNotFound', message: 'gone'}}, {'x-ms-request-id': 'r404'})])
      await assert.rejects(arm.request({method: 'GET', path: '/subscriptions/s'}), (e: ArmError) => {
        assert.ok(e instanceof ArmError)
        assert.equal(e.status, 404)
        assert.equal(e.exitCode, 4)
        assert.equal(e.code, 'ResourceNotFound')
        assert.equal(e.requestId, 'r404')
        return true
      })
    })

    it('get() with allowNotFound returns undefined on 404 only', async () => {
      const {arm} = client([json(404, {error: {code: 'NotFound', message: 'x'}}), json(403, {error: {code: 'AuthorizationFailed', message: 'no'}})])
      assert.equal(await arm.get('/subscriptions/s', {allowNotFound: true}), undefined)
      await assert.rejects(arm.get('/subscriptions/s', {allowNotFound: true}), (e: ArmError) => e.exitCode === 5)
    })

    it('reads the subscription lazily', () => {
      let calls = 0
      const {arm} = client([], {
        subscriptionId: () => {
          calls++
          return 'lazy'
        },
      })
      assert.equal(calls, 0)
      assert.match(arm.resolveUrl('/subscriptions/{subscriptionId}'), /\/subscriptions\/lazy\?/)
      assert.equal(calls, 1)
    })
  })

  describe('retries', () => {
    it('honours Retry-After seconds on 429, keeping the client request id', async () => {
      const {arm, requests, sleeps, logger} = client([json(429, {error: {code: 'TooManyRequests', message: 'slow down'}}, {'retry-after': '3'}), json(200, {ok: true})])
      const res = await arm.request({method: 'GET', path: '/subscriptions/s'})
      assert.deepEqual(res.body, {ok: true})
      assert.deepEqual(sleeps, [3000])
      assert.equal(requests.length, 2)
      assert.equal(requests[1]!.at - requests[0]!.at, 3000)
      assert.equal(requests[0]!.headers['x-ms-client-request-id'], requests[1]!.headers['x-ms-client-request-id'])
      assert.ok(
        logger.lines.includes('Warning: ARM throttled the request (429) on GET /subscriptions/s; waiting 3 s as its Retry-After asks (throttled retry 1 of 10)…'),
        `a wait of 3 s or more is said on stderr, not only with --verbose:\n${logger.lines.join('\n')}`,
      )
    })

    it('keeps short waits for --verbose only', async () => {
      const {arm, logger} = client([json(429, {}, {'retry-after': '1'}), json(200, {})])
      await arm.request({method: 'GET', path: '/subscriptions/s'})
      assert.ok(logger.lines.some((l) => /retrying in 1000ms after 429 \(Retry-After\) \(throttled retry 1 of 10\)/.test(l)))
      assert.ok(!logger.lines.some((l) => l.startsWith('Warning:')))
    })

    it('retries a 429 on any method (ARM refused it before carrying it out), never a 409/412 on a write', async () => {
      const a = client([json(429, {}, {'retry-after': '1'}), json(200, {})])
      await a.arm.request({method: 'POST', path: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Web/sites/a/restart'})
      assert.equal(a.requests.length, 2)
      for (const status of [409, 412]) {
        const b = client([json(status, {error: {code: 'X', message: 'in the way'}}), json(200, {})])
        await assert.rejects(b.arm.request({method: 'PUT', path: '/subscriptions/s'}), (e: ArmError) => e.status === status && e.exitCode === 6)
        assert.equal(b.requests.length, 1)
      }
    })

    it('names the request id of a failed answer in what people read', async () => {
      const {arm} = client([json(503, {error: {code: 'ServiceUnavailable', message: 'busy'}}, {'x-ms-request-id': 'req-1', 'x-ms-correlation-request-id': 'corr-1'})], {retry: {maxRetries: 0}})
      await assert.rejects(arm.request({method: 'GET', path: '/subscriptions/s'}), (e: ArmError) => {
        assert.ok(e.suggestions.includes('Request id req-1, correlation id corr-1: quote it when you contact support.'), e.suggestions.join('\n'))
        assert.deepEqual(e.data, {status: 503, requestId: 'req-1', correlationId: 'corr-1'})
        return true
      })
    })

    it('backs off exponentially with full jitter, capped, on 5xx and network errors', async () => {
      const {arm, sleeps} = client(
        [json(503, {}), new TransportError('socket hang up', {code: 'ECONNRESET'}), json(500, {}), json(502, {}), json(200, {})],
        {retry: {baseDelayMs: 100, maxDelayMs: 250, maxRetries: 4}},
      )
      await arm.request({method: 'DELETE', path: '/subscriptions/s'})
      // random() = 0.5: half of min(cap, base * 2^(n-1))
      assert.deepEqual(sleeps, [50, 100, 125, 125])
    })

    it('stops after the bounded number of attempts and throws the last error', async () => {
      const {arm, requests} = client([json(503, {}), json(503, {}), json(503, {Code: 'Busy', Message: 'still busy'})], {retry: {maxRetries: 2}})
      await assert.rejects(arm.request({method: 'GET', path: '/subscriptions/s'}), (e: ArmError) => e.status === 503 && e.message === 'still busy')
      assert.equal(requests.length, 3)
    })

    it('stops when the total time budget would be exceeded, saying it did not wait for Retry-After', async () => {
      const {arm, requests, sleeps} = client([json(429, {}, {'retry-after': '100'}), json(200, {})], {retry: {maxElapsedMs: 10_000}})
      await assert.rejects(arm.request({method: 'GET', path: '/subscriptions/s'}), (e: ArmError) => {
        assert.equal(e.status, 429)
        assert.equal(e.exitCode, 1)
        assert.match(e.message, /^ARM throttled the request \(429\) and asks to wait 100 s \(Retry-After\), more than the 10 s left of the 10 s retry budget \(HCCTL_RETRY_BUDGET\); not waiting\./)
        assert.match(e.suggestions[0]!, /Retry in 100 s, or raise the budget with HCCTL_RETRY_BUDGET/)
        return true
      })
      assert.equal(requests.length, 1)
      assert.deepEqual(sleeps, [], 'no sleep into certain failure')
    })

    it('never retries a non-idempotent POST, but does retry listKeys and idempotent: true', async () => {
      const a = client([json(503, {}), json(200, {})])
      await assert.rejects(a.arm.request({method: 'POST', path: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Web/sites/a/restart'}), (e: ArmError) => e.status === 503)
      assert.equal(a.requests.length, 1)
      const b = client([json(503, {}), json(200, {primaryKey: 'k'})])
      await b.arm.request({method: 'POST', path: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Relay/namespaces/n/authorizationRules/x/listKeys'})
      assert.equal(b.requests.length, 2)
      const c = client([new TransportError('reset', {code: 'ECONNRESET'}), json(200, {})])
      await c.arm.request({method: 'POST', path: '/subscriptions/s/providers/Microsoft.Web/foo', idempotent: true})
      assert.equal(c.requests.length, 2)
    })

    it('does not retry 4xx other than 408/429, nor TLS failures', async () => {
      const a = client([json(409, {error: {code: 'Conflict', message: 'busy'}})])
      await assert.rejects(a.arm.request({method: 'PUT', path: '/subscriptions/s'}), (e: ArmError) => e.exitCode === 6)
      assert.equal(a.requests.length, 1)
      const b = client([new TransportError('self-signed certificate in certificate chain', {code: 'SELF_SIGNED_CERT_IN_CHAIN'})])
      await assert.rejects(b.arm.request({method: 'GET', path: '/subscriptions/s'}), (e: Error & {code: string}) => e.code === 'TlsError')
      assert.equal(b.requests.length, 1)
    })

    it('reports a timeout as RequestTimeout after retrying it', async () => {
      const t = () => new TransportError('no complete answer within 10 ms', {code: 'ETIMEDOUT', timeout: true})
      const {arm, requests} = client([t(), t()], {retry: {maxRetries: 1}})
      await assert.rejects(arm.request({method: 'GET', path: '/subscriptions/s'}), (e: Error & {code: string; exitCode: number}) => e.code === 'RequestTimeout' && e.exitCode === 1)
      assert.equal(requests.length, 2)
    })

    it('an abort stops waiting between retries', async () => {
      const controller = new AbortController()
      const fake = fakeTransport([json(503, {}), json(200, {})])
      const arm = new AzureArmClient({
        cloud,
        credential: staticTokenCredential(TOKEN),
        subscriptionId: SUB,
        transport: fake.transport,
        sleep: async () => {
          controller.abort(new Error('interrupted'))
          throw controller.signal.reason
        },
      })
      await assert.rejects(arm.request({method: 'GET', path: '/subscriptions/s', signal: controller.signal}), /interrupted/)
      assert.equal(fake.requests.length, 1)
    })
  })

  describe('long-running operations', () => {
    const base = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns'
    it('follows 202 + Location to the final answer, with Retry-After then growing intervals', async () => {
      const loc = 'https://arm.example.test/subscriptions/s/operationResults/1?api-version=2021-11-01'
      const {arm, requests, sleeps} = client(
        [{status: 202, headers: {location: loc, 'retry-after': '2'}}, {status: 202, headers: {location: loc}}, {status: 202}, json(200, {name: 'done'})],
        {lro: {initialIntervalMs: 100, factor: 2, maxIntervalMs: 150}},
      )
      const res = await arm.request({method: 'DELETE', path: base, wait: true})
      assert.deepEqual(res.body, {name: 'done'})
      assert.deepEqual(
        requests.map((r) => r.url),
        [`https://arm.example.test${base}?api-version=2021-11-01`, loc, loc, loc],
      )
      assert.deepEqual(sleeps, [2000, 100, 150])
    })

    it('without wait returns the 202 as is', async () => {
      const {arm, requests} = client([{status: 202, headers: {location: 'https://arm.example.test/op'}}])
      const res = await arm.request({method: 'DELETE', path: base})
      assert.equal(res.status, 202)
      assert.equal(requests.length, 1)
    })

    it('polls Azure-AsyncOperation to Succeeded, then GETs the resource for PUT', async () => {
      const op = 'https://arm.example.test/subscriptions/s/providers/Microsoft.Relay/locations/x/operationStatuses/1?api-version=2021-11-01'
      const {arm, requests} = client([
        json(201, {properties: {provisioningState: 'Created'}}, {'azure-asyncoperation': op}),
        json(200, {status: 'InProgress'}),
        json(200, {status: 'Succeeded'}),
        json(200, {name: 'ns', properties: {provisioningState: 'Succeeded'}}),
      ])
      const res = await arm.request({method: 'PUT', path: base, body: {location: 'westus'}, wait: true})
      assert.deepEqual(res.body, {name: 'ns', properties: {provisioningState: 'Succeeded'}})
      assert.deepEqual(requests.map((r) => r.method), ['PUT', 'GET', 'GET', 'GET'])
      assert.equal(requests[3]!.url, `https://arm.example.test${base}?api-version=2021-11-01`)
    })

    it('a Failed operation is an error with its code and message', async () => {
      const op = 'https://arm.example.test/op/1'
      const {arm} = client([{status: 202, headers: {'azure-asyncoperation': op}}, json(200, {status: 'Failed', error: {code: 'QuotaExceeded', message: 'too many namespaces'}})])
      await assert.rejects(arm.request({method: 'PUT', path: base, wait: true}), (e: ArmError) => {
        assert.equal(e.code, 'QuotaExceeded')
        assert.equal(e.exitCode, 6)
        assert.match(e.message, /too many namespaces/)
        return true
      })
    })

    it('polls provisioningState of the resource when there is no header', async () => {
      const {arm, requests} = client([
        json(200, {properties: {provisioningState: 'Updating'}}),
        json(200, {properties: {provisioningState: 'Updating'}}),
        json(200, {properties: {provisioningState: 'Succeeded'}}),
      ])
      const res = await arm.request({method: 'PATCH', path: base, body: {}, wait: true})
      assert.equal((res.body as {properties: {provisioningState: string}}).properties.provisioningState, 'Succeeded')
      assert.equal(requests.length, 3)
    })

    it('gives up after the LRO timeout with a hint how to check later', async () => {
      const loc = 'https://arm.example.test/op/2'
      const steps: Step[] = [{status: 202, headers: {location: loc}}]
      for (let i = 0; i < 50; i++) steps.push({status: 202, headers: {location: loc, 'retry-after': '10'}})
      const {arm} = client(steps, {lro: {timeoutMs: 35_000, initialIntervalMs: 10_000}})
      await assert.rejects(arm.request({method: 'DELETE', path: base, wait: true}), (e: Error & {code: string}) => {
        assert.equal(e.code, 'OperationTimedOut')
        assert.match((e as unknown as {suggestions: string[]}).suggestions[0]!, /hcctl arm get "https:\/\/arm\.example\.test\/op\/2"/)
        return true
      })
    })

    it('refuses to poll a URL off the ARM endpoint', async () => {
      const {arm} = client([{status: 202, headers: {location: 'https://elsewhere.example.test/op'}}])
      await assert.rejects(arm.request({method: 'DELETE', path: base, wait: true}), /not the ARM endpoint/)
    })
  })

  describe('paging', () => {
    it('follows nextLink through every page', async () => {
      const next1 = 'https://arm.example.test/subscriptions/s/providers/Microsoft.Relay/namespaces?api-version=2021-11-01&$skipToken=a'
      const next2 = 'https://arm.example.test/subscriptions/s/providers/Microsoft.Relay/namespaces?api-version=2021-11-01&$skipToken=b'
      const {arm, requests} = client([json(200, {value: [1, 2], nextLink: next1}), json(200, {value: [], nextLink: next2}), json(200, {value: [3], nextLink: null})])
      assert.deepEqual(await arm.list('/subscriptions/s/providers/Microsoft.Relay/namespaces'), [1, 2, 3])
      assert.deepEqual(requests.map((r) => r.url).slice(1), [next1, next2])
    })

    it('stops on a repeated nextLink and on a body without value', async () => {
      const next = 'https://arm.example.test/subscriptions/s?api-version=1&p=2'
      const a = client([json(200, {value: [], nextLink: next}), json(200, {value: [], nextLink: next})])
      await assert.rejects(a.arm.list('/subscriptions/s'), /same nextLink/)
      const b = client([json(200, {name: 'x'})])
      await assert.rejects(b.arm.list('/subscriptions/s'), /no "value" array/)
      const c = client([json(200, {value: [], nextLink: 'https://elsewhere.example.test/next'})])
      await assert.rejects(c.arm.list('/subscriptions/s'), (e: Error & {exitCode: number}) => e.exitCode === 1 && /not the ARM endpoint/.test(e.message))
    })
  })

  it('isIdempotent and retryAfterMs', () => {
    assert.equal(isIdempotent({method: 'GET', path: '/x'}), true)
    assert.equal(isIdempotent({method: 'POST', path: '/x/listkeys?api-version=1'}), true)
    assert.equal(isIdempotent({method: 'POST', path: '/x/checkNameAvailability'}), true)
    assert.equal(isIdempotent({method: 'POST', path: '/x/regenerateKeys'}), true, 'a repeat gives the slot another fresh key, as asked')
    assert.equal(isIdempotent({method: 'POST', path: '/x/sites/a/restart'}), false)
    assert.equal(isIdempotent({method: 'PUT', path: '/x', idempotent: false}), false)
    assert.equal(retryAfterMs({'retry-after': '5'}), 5000)
    assert.equal(retryAfterMs({'retry-after-ms': '250'}), 250)
    assert.equal(retryAfterMs({'retry-after': new Date(2_000_000).toUTCString()}, 1_000_000), 1_000_000)
    assert.equal(retryAfterMs({'retry-after': 'soon'}), undefined)
    assert.equal(retryAfterMs({}), undefined)
  })

  it('an auth failure from the credential is exit 5 and no request is sent', async () => {
    const fake = fakeTransport([])
    const arm = new AzureArmClient({
      cloud,
      credential: {getToken: async () => Promise.reject(new Error('AADSTS7000215: Invalid client secret'))},
      subscriptionId: SUB,
      transport: fake.transport,
    })
    await assert.rejects(arm.request({method: 'GET', path: '/subscriptions/s'}), (e: Error & {exitCode: number}) => e.exitCode === 5 && /AADSTS7000215/.test(e.message))
    assert.equal(fake.requests.length, 0)
  })
})

describe('ARM client: a 401 to a cached token', () => {
  /** A credential that first hands out a "cached" token, then fresh ones after invalidate. */
  function cachingCredential() {
    const c = {
      kind: 'default-chain' as const,
      sources: ['test'],
      cached: 'cached-token' as string | undefined,
      signIns: 0,
      async getToken() {
        if (c.cached) return {token: c.cached, expiresOnTimestamp: 4102444800000}
        c.signIns++
        return {token: `fresh-${c.signIns}`, expiresOnTimestamp: 4102444800000}
      },
      invalidate(token: string) {
        if (token !== c.cached) return false
        c.cached = undefined
        return true
      },
    }
    return c
  }
  const path = `/subscriptions/${SUB}/resourcegroups/rg`

  it('drops the token, signs in once more and repeats the request (a POST too), without waiting', async () => {
    const credential = cachingCredential()
    const {arm, requests, sleeps} = client([json(401, {error: {code: 'InvalidAuthenticationToken', message: 'expired'}}), json(200, {ok: true})], {credential})
    const res = await arm.request({method: 'POST', path: `${path}/doSomething`, apiVersion: '2022-09-01'})
    assert.deepEqual(res.body, {ok: true})
    assert.deepEqual(requests.map((r) => r.headers.authorization), ['Bearer cached-token', 'Bearer fresh-1'])
    assert.equal(credential.signIns, 1)
    assert.deepEqual(sleeps, [])
  })

  it('only once: a second 401 is the error (exit 5)', async () => {
    const refused = json(401, {error: {code: 'AuthorizationFailed', message: 'no'}})
    const {arm, requests} = client([refused, refused, refused], {credential: cachingCredential()})
    await assert.rejects(arm.get(path), (e: ArmError) => e.status === 401 && e.exitCode === 5)
    assert.equal(requests.length, 2)
  })

  it('a token that did not come from the cache is not retried', async () => {
    const {arm, requests} = client([json(401, {error: {code: 'InvalidAuthenticationToken', message: 'no'}}), json(200, {})])
    await assert.rejects(arm.get(path), (e: ArmError) => e.status === 401)
    assert.equal(requests.length, 1)
  })
})
