import {strict as assert} from 'node:assert'

import {DEFAULT_RETRY} from '../../../src/lib/azure/arm-retry.js'
import {armRetryPolicy} from '../../../src/lib/azure/sdk-retry.js'
import {recordingLogger} from '../../../src/lib/output/logger.js'

type Answer = number | Error

function run(answers: Answer[], request: {method: string; url: string}, retry = DEFAULT_RETRY) {
  let clock = 0
  const sleeps: number[] = []
  const logger = recordingLogger()
  const policy = armRetryPolicy({retry, logger, now: () => clock, random: () => 0.5, sleep: async (ms) => {
    sleeps.push(ms)
    clock += ms
  }})
  let calls = 0
  const next = async () => {
    const a = answers[Math.min(calls++, answers.length - 1)]!
    if (a instanceof Error) throw a
    const headers: Record<string, string> = a === 429 ? {'retry-after': '1'} : {}
    return {status: a, headers: {toJSON: () => headers}}
  }
  return {result: policy.sendRequest(request, next), sleeps, logger, calls: () => calls}
}

const HC = 'https://arm.test/subscriptions/s/resourceGroups/rg/providers/Microsoft.Relay/namespaces/ns/hybridConnections/hc?api-version=2017-04-01'

describe('the ARM retry policy in the Relay SDK pipeline', () => {
  it('honours Retry-After on 429 and backs off on 503, then returns the answer', async () => {
    const r = run([429, 503, 200], {method: 'PUT', url: HC})
    assert.equal((await r.result).status, 200)
    assert.deepEqual(r.sleeps, [1000, 400], 'the backoff counts failures only: the first failure waits up to 800 ms')
  })

  it('stops at the documented bound and returns the last answer (the SDK makes it an error)', async () => {
    const r = run([503], {method: 'GET', url: HC})
    assert.equal((await r.result).status, 503)
    assert.equal(r.calls(), DEFAULT_RETRY.maxRetries + 1)
    const throttled = run([429], {method: 'GET', url: HC})
    assert.equal((await throttled.result).status, 429)
    assert.equal(throttled.calls(), DEFAULT_RETRY.maxThrottledRetries + 1, '429s have their own bound')
    const mixed = run([429, 503, 429, 503, 503, 503, 503, 200], {method: 'GET', url: HC})
    assert.equal((await mixed.result).status, 503, 'the fifth failure ends it, 429s aside')
    assert.equal(mixed.calls(), 7)
  })

  it('never repeats a 409/412, nor a 5xx on a POST that is not safe to repeat; regenerateKeys is', async () => {
    for (const status of [409, 412]) {
      const r = run([status, 200], {method: 'PUT', url: HC})
      assert.equal((await r.result).status, status)
      assert.equal(r.calls(), 1)
    }
    const post = run([503, 200], {method: 'POST', url: 'https://arm.test/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a/restart'})
    assert.equal((await post.result).status, 503)
    const regen = run([503, 200], {method: 'POST', url: HC.replace('?', '/authorizationRules/r/regenerateKeys?')})
    assert.equal((await regen.result).status, 200)
  })

  it('retries a network failure of an idempotent request, not a TLS one', async () => {
    const reset = Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'})
    const r = run([reset, 200], {method: 'GET', url: HC})
    assert.equal((await r.result).status, 200)
    const tls = Object.assign(new Error('self-signed'), {code: 'SELF_SIGNED_CERT_IN_CHAIN'})
    const t = run([tls, 200], {method: 'GET', url: HC})
    await assert.rejects(t.result, /self-signed/)
    assert.equal(t.calls(), 1)
  })
})
