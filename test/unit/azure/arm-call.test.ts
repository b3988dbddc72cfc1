import {strict as assert} from 'node:assert'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import fc from 'fast-check'

import {armCall, parseBodyArg, parseHeaderArgs, parseJson, requireApiVersion} from '../../../src/lib/azure/arm-call.js'
import type {ArmRequest, ArmResponse} from '../../../src/lib/azure/arm-types.js'
import {decodeAccessToken, normalizeScope} from '../../../src/lib/azure/token.js'

const isUsage = (e: Error & {exitCode?: number}) => e.exitCode === 2

describe('hcctl arm: argument parsing (nothing is sent before it passes)', () => {
  it('requires an api-version in the URL or the flag, suggesting the table version', () => {
    requireApiVersion('/subscriptions/s?api-version=2020-01-01', undefined)
    requireApiVersion('/subscriptions/s', '2020-01-01')
    assert.throws(() => requireApiVersion('/subscriptions/s/providers/Microsoft.Web/sites', undefined), (e: Error & {suggestions: string[]}) => /api-version=2025-05-01/.test(e.suggestions[0]!))
    assert.throws(() => requireApiVersion('/foo', undefined), (e: Error & {suggestions: string[]}) => /YYYY-MM-DD/.test(e.suggestions[0]!))
  })

  it('parses -H "Name: value" and rejects malformed headers', () => {
    assert.deepEqual(parseHeaderArgs(['If-Match: *', 'x-a:b:c', 'Empty:']), {'If-Match': '*', 'x-a': 'b:c', Empty: ''})
    assert.throws(() => parseHeaderArgs(['nocolon']), isUsage)
    assert.throws(() => parseHeaderArgs(['bad name: x']), isUsage)
    assert.throws(() => parseHeaderArgs([': x']), isUsage)
  })

  it('parses literal, @file and stdin bodies; errors give line and column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcctl-body-'))
    writeFileSync(join(dir, 'b.json'), '\uFEFF{"a": 1}')
    assert.deepEqual(await parseBodyArg('{"a": 1}'), {a: 1})
    assert.deepEqual(await parseBodyArg(`@${join(dir, 'b.json')}`), {a: 1})
    assert.deepEqual(await parseBodyArg('-', async () => '[1,2]'), [1, 2])
    await assert.rejects(parseBodyArg('-'), isUsage)
    await assert.rejects(parseBodyArg(`@${join(dir, 'missing.json')}`), /ENOENT/)
    assert.throws(() => parseJson('', 'The body'), /is empty/)
    assert.throws(() => parseJson('{\n  "a": 1,\n  oops\n}', 'The body file f'), (e: Error & {data: {line: number; column: number}}) => {
      assert.match(e.message, /The body file f is not valid JSON at line 3, column 3/)
      assert.deepEqual([e.data.line, e.data.column], [3, 3])
      return true
    })
    assert.throws(() => parseJson('{"a":', 'The body'), /at line 1/)
  })

  it('parsers of outside input only ever throw usage errors (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseJson(text, 'The body')
        } catch (error) {
          assert.ok(isUsage(error as Error))
        }
      }),
    )
    fc.assert(
      fc.property(fc.array(fc.string()), (list) => {
        try {
          parseHeaderArgs(list)
        } catch (error) {
          assert.ok(isUsage(error as Error))
        }
      }),
    )
    fc.assert(fc.property(fc.jsonValue(), (v) => assert.deepEqual(parseJson(JSON.stringify(v), 'x'), JSON.parse(JSON.stringify(v)))))
  })

  it('armCall passes everything to the client; --all follows pages into one value list', async () => {
    const calls: ArmRequest[] = []
    const pages = [{value: [1], nextLink: 'https://h/next?api-version=1'}, {value: [2], nextLink: null}]
    const arm = {
      async request(r: ArmRequest): Promise<ArmResponse> {
        calls.push(r)
        return {status: 200, headers: {}, body: pages.shift() ?? {ok: true}}
      },
    }
    const res = await armCall(arm, {method: 'GET', url: '/subscriptions/s?api-version=1', all: true, headers: ['a: b']})
    assert.deepEqual(res.body, {value: [1, 2]})
    assert.deepEqual(calls.map((c) => c.path), ['/subscriptions/s?api-version=1', 'https://h/next?api-version=1'])
    assert.deepEqual(calls[0]!.headers, {a: 'b'})
    await assert.rejects(armCall(arm, {method: 'PUT', url: '/s?api-version=1', all: true}), /only applies to GET/)
    await armCall(arm, {method: 'POST', url: '/s/listKeys?api-version=1', body: '{"x": 1}', wait: true})
    assert.deepEqual(calls.at(-1), {method: 'POST', path: '/s/listKeys?api-version=1', apiVersion: undefined, body: {x: 1}, headers: {}, wait: true, signal: undefined})
  })
})

describe('hcctl token helpers', () => {
  it('normalises scopes and decodes claims', () => {
    assert.equal(normalizeScope('https://vault.azure.net'), 'https://vault.azure.net/.default')
    assert.equal(normalizeScope('https://management.azure.com/.default'), 'https://management.azure.com/.default')
    assert.equal(normalizeScope('https://graph.microsoft.com/User.Read'), 'https://graph.microsoft.com/User.Read')
    assert.equal(normalizeScope('api://app/.default'), 'api://app/.default')
    assert.throws(() => normalizeScope('a b'), isUsage)
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const d = decodeAccessToken({scope: 's', accessToken: `${b64({alg: 'none'})}.${b64({exp: 2000})}.x`, expiresOn: ''}, 1_000_000)
    assert.equal(d.expiresInSeconds, 1000)
    assert.equal(d.expiresOn, new Date(2_000_000).toISOString())
    assert.throws(() => decodeAccessToken({scope: 's', accessToken: 'opaque', expiresOn: ''}), isUsage)
  })
})
