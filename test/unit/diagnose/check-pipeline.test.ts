import {strict as assert} from 'node:assert'

import {buildReport, runChecks} from '../../../src/lib/diagnose/check/pipeline.js'
import {renderReport} from '../../../src/lib/diagnose/check/render.js'
import {type CheckDefinition, fail, pass, skip, warn} from '../../../src/lib/diagnose/check/types.js'
import {UsageError} from '../../../src/lib/errors.js'

type Ctx = {ran: string[]}
const def = (id: string, outcome: ReturnType<typeof pass>, dependsOn?: string[]): CheckDefinition<Ctx> => ({
  id,
  title: `title of ${id}`,
  dependsOn,
  async run(ctx) {
    ctx.ran.push(id)
    return outcome
  },
})

describe('check pipeline', () => {
  it('runs in order and skips the dependants of a failed layer, naming it', async () => {
    const ctx = {ran: [] as string[]}
    const results = await runChecks(
      [
        def('a', pass('fine')),
        def('b', fail('broken', 'fix b'), ['a']),
        def('c', pass('never'), ['b']),
        def('d', pass('never'), ['c']),
        def('e', warn('meh', 'tune e'), ['a']),
        def('f', pass('runs after a warning'), ['e']),
      ],
      ctx,
      {target: 'ns/hc'},
    )
    assert.deepEqual(ctx.ran, ['a', 'b', 'e', 'f'])
    assert.deepEqual(results.map((r) => r.status), ['pass', 'fail', 'skip', 'skip', 'warn', 'pass'])
    assert.deepEqual(results[2]!.evidence, ['skipped: b failed'])
    assert.deepEqual(results[3]!.evidence, ['skipped: c was skipped'])
    assert.ok(results.every((r) => r.target === 'ns/hc'))
  })

  it('a check that skips itself also skips its dependants', async () => {
    const results = await runChecks([def('a', skip('not configured')), def('b', pass('x'), ['a'])], {ran: []})
    assert.deepEqual(results[1]!.evidence, ['skipped: a was skipped'])
  })

  it('a check that throws fails with the message and the error suggestions, and the rest still run', async () => {
    const boom: CheckDefinition<Ctx> = {
      id: 'boom',
      title: 'throws',
      async run() {
        throw new UsageError('bad SharedAccessKey=abc123 here', {suggestions: ['do this']})
      },
    }
    const results = await runChecks([boom, def('other', pass('ok'))], {ran: []})
    assert.equal(results[0]!.status, 'fail')
    assert.doesNotMatch(results[0]!.evidence[0]!, /abc123/, 'secrets in errors are redacted')
    assert.equal(results[0]!.remedy, 'do this')
    assert.equal(results[1]!.status, 'pass')
  })

  it('refuses a dependency on an unknown or later check (a bug in the check list)', async () => {
    await assert.rejects(runChecks([def('a', pass('x'), ['zzz'])], {ran: []}), /unknown check zzz/)
    await assert.rejects(runChecks([def('a', pass('x'), ['b']), def('b', pass('x'))], {ran: []}), /runs after it/)
  })

  it('skips everything once the signal is aborted', async () => {
    const abort = new AbortController()
    abort.abort()
    const results = await runChecks([def('a', pass('x'))], {ran: []}, {signal: abort.signal})
    assert.equal(results[0]!.status, 'skip')
  })

  it('ok unless something failed; warnings fail only under strict', async () => {
    const warned = await runChecks([def('a', pass('x')), def('b', warn('w', 'r'))], {ran: []})
    assert.equal(buildReport(warned).ok, true)
    assert.equal(buildReport(warned, true).ok, false)
    const failed = await runChecks([def('a', fail('x', 'r'))], {ran: []})
    assert.deepEqual(buildReport(failed).counts, {pass: 0, warn: 0, fail: 1, skip: 0})
    assert.equal(buildReport(failed).ok, false)
  })

  it('renders ✓/!/✗ lines grouped by target with the remedies of failures and warnings', async () => {
    const app = await runChecks([def('app.exists', pass('my-app (app,linux)'))], {ran: []})
    const hc = await runChecks(
      [def('listener.connected', fail('listenerCount 0', 'start an agent'), []), def('listener.redundancy', warn(['one', 'two'], 'add a second agent'))],
      {ran: []},
      {target: 'ns/hc'},
    )
    const text = renderReport(buildReport([...app, ...hc]))
    assert.match(text, /^App and plan$/m)
    assert.match(text, /^✓ app\.exists +title of app\.exists +my-app \(app,linux\)$/m)
    assert.match(text, /^Hybrid connection ns\/hc$/m)
    assert.match(text, /^✗ listener\.connected +title of listener\.connected +listenerCount 0$/m)
    assert.match(text, /^ +two$/m)
    assert.match(text, /^What to do$/m)
    assert.match(text, /^✗ listener\.connected \(ns\/hc\): start an agent$/m)
    assert.match(text, /^! listener\.redundancy \(ns\/hc\): add a second agent$/m)
    assert.match(text, /1 passed, 1 warning, 1 failed, 0 skipped - FAILED$/)
  })
})
