import {strict as assert} from 'node:assert'

import {withDeadline} from '../../../src/lib/deadline.js'

describe('withDeadline', () => {
  const timeoutError = () => new Error('too slow')

  it('resolves with the value and runs the cleanup once, without an error', async () => {
    const calls: Array<Error | undefined> = []
    const v = await withDeadline<number>({timeoutMs: 1000, timeoutError}, (settle) => {
      setImmediate(() => settle(undefined, 42))
      return (e) => calls.push(e)
    })
    assert.equal(v, 42)
    assert.deepEqual(calls, [undefined])
  })

  it('rejects with the timeout error and hands it to the cleanup', async () => {
    const calls: Array<Error | undefined> = []
    await assert.rejects(
      withDeadline({timeoutMs: 10, timeoutError}, () => (e) => calls.push(e)),
      /too slow/,
    )
    assert.equal(calls.length, 1)
    assert.match(String(calls[0]), /too slow/)
  })

  it('rejects on abort (a given error or ABORT_ERR), and at once for a signal already aborted', async () => {
    const ac = new AbortController()
    const p = withDeadline({timeoutMs: 1000, signal: ac.signal, timeoutError}, () => () => {})
    ac.abort()
    await assert.rejects(p, (e: NodeJS.ErrnoException) => e.code === 'ABORT_ERR')
    let started = false
    await assert.rejects(
      withDeadline({timeoutMs: 1000, signal: ac.signal, timeoutError, abortError: () => new Error('cancelled by user')}, () => {
        started = true
        return () => {}
      }),
      /cancelled by user/,
    )
    assert.equal(started, false, 'nothing starts once the signal is aborted')
  })

  it('runs the cleanup with the error when start settles synchronously; later settles are ignored', async () => {
    const calls: Array<Error | undefined> = []
    await assert.rejects(
      withDeadline<number>({timeoutMs: 1000, timeoutError}, (settle) => {
        settle(new Error('refused'))
        settle(undefined, 1)
        return (e) => calls.push(e)
      }),
      /refused/,
    )
    assert.equal(calls.length, 1)
    assert.match(String(calls[0]), /refused/)
  })
})
