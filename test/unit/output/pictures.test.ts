import {strict as assert} from 'node:assert'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {hopsOf, renderHopChain, renderReport} from '../../../src/lib/diagnose/check/render.js'
import type {CheckReport, CheckResult} from '../../../src/lib/diagnose/check/types.js'
import {renderRelayTest} from '../../../src/lib/diagnose/relay-test-render.js'
import type {RelayTestRun} from '../../../src/lib/diagnose/relay-test-setup.js'
import {formatSummary} from '../../../src/lib/diagnose/tcpping-render.js'
import type {TcpPingResult} from '../../../src/lib/diagnose/tcpping.js'
import {ASCII_GLYPHS, glyphsFor, UNICODE_GLYPHS, utf8Locale} from '../../../src/lib/output/glyphs.js'
import {renderHistogram} from '../../../src/lib/output/histogram.js'

/**
 * Golden files for the pictures people read: the hop chain of `check` and the latency
 * histograms of `tcpping` and `relay test`, in Unicode and in the ASCII fallback.
 * `UPDATE_GOLDEN=1 npx mocha test/unit/output/pictures.test.ts` rewrites them after an
 * intended change (review the diff).
 */
function golden(name: string, actual: string): void {
  const file = fileURLToPath(new URL(`golden/${name}.txt`, import.meta.url))
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual + '\n')
  assert.ok(existsSync(file), `no golden file ${file}: run with UPDATE_GOLDEN=1 once and review it`)
  assert.equal(actual + '\n', readFileSync(file, 'utf8'), `${name} differs from its golden file (UPDATE_GOLDEN=1 to accept)`)
}

const r = (id: string, status: CheckResult['status'], target?: string, data?: Record<string, unknown>): CheckResult => ({
  id,
  title: id,
  status,
  evidence: [`${id} evidence`],
  ...(status === 'fail' || status === 'warn' ? {remedy: `fix ${id}`} : {}),
  ...(target ? {target} : {}),
  ...(data ? {data} : {}),
})

function report(checks: CheckResult[], app = 'contoso-web'): CheckReport & {subject: {app: string}} {
  const counts = {pass: 0, warn: 0, fail: 0, skip: 0}
  for (const c of checks) counts[c.status]++
  return {ok: counts.fail === 0, strict: false, counts, checks, subject: {app}}
}

const T = 'contoso-relay/onprem-sql'
const appChecks = [r('app.exists', 'pass'), r('app.plan-eligible', 'pass'), r('app.plan-limit', 'pass'), r('app.hybrid-connections', 'pass')]
const noAgent = report([
  ...appChecks,
  r('config.web-resource', 'pass', T),
  r('config.relay-exists', 'pass', T),
  r('config.metadata', 'pass', T, {endpoint: 'sql01.corp.local:1433'}),
  r('config.endpoint-host', 'pass', T),
  r('keys.match', 'pass', T),
  r('listener.connected', 'fail', T, {listenerCount: 0}),
  r('listener.redundancy', 'skip', T),
  r('net.dns', 'pass', T),
  r('net.clock', 'warn', T),
  {...r('roundtrip.connect', 'skip', T), evidence: ['skipped: listener.connected failed']},
  {...r('roundtrip.probe', 'skip', T), evidence: ['skipped: roundtrip.connect was skipped']},
])

describe('pictures (golden files)', () => {
  it('the hop chain marks the broken hop and names its failing check under it', () => {
    const chain = renderHopChain(noAgent, UNICODE_GLYPHS)
    golden('hops-no-agent', chain)
    const [, line, under] = chain.split('\n')
    assert.match(line!, /✓ app contoso-web → ! relay \(contoso-relay\) → ✗ agents \(0\) → \? endpoint sql01\.corp\.local:1433/)
    // The failing id starts in the column of its hop.
    assert.equal(under!.indexOf('listener.connected'), line!.indexOf('✗ agents'))
    assert.equal(under!.indexOf('net.clock'), line!.indexOf('! relay'))
  })

  it('falls back to ASCII', () => {
    const chain = renderHopChain(noAgent, ASCII_GLYPHS)
    golden('hops-no-agent-ascii', chain)
    assert.match(chain, /^[\x20-\x7e\n]*$/, 'only printable ASCII')
    assert.match(chain, /ok app contoso-web -> ! relay \(contoso-relay\) -> X agents \(0\)/)
  })

  it('a rejected round trip (the agent cannot reach its endpoint) breaks the endpoint hop, not the agent', () => {
    const rejected = r('roundtrip.connect', 'fail', T, {results: [{accepted: false, code: 'RejectedByListener', status: 502}]})
    assert.deepEqual(hopsOf(rejected), ['endpoint'])
    assert.deepEqual(hopsOf(r('roundtrip.connect', 'fail', T, {results: [{accepted: false, code: 'NoListener'}]})), ['agent'])
    assert.deepEqual(hopsOf(r('roundtrip.connect', 'pass', T)), ['agent', 'endpoint'], 'the agent connected to the endpoint before it accepted')
    const chain = renderHopChain(report([...appChecks, r('config.metadata', 'pass', T, {endpoint: 'db:1'}), r('listener.connected', 'pass', T, {listenerCount: 2}), rejected]), UNICODE_GLYPHS)
    golden('hops-endpoint-down', chain)
    assert.match(chain, /✓ agents \(2\) → ✗ endpoint db:1/)
  })

  it('the whole report ends with the chain, several hybrid connections each with their own', () => {
    const two = report([...noAgent.checks, r('config.metadata', 'pass', 'contoso-relay/ldap', {endpoint: 'ldap:389'}), r('listener.connected', 'pass', 'contoso-relay/ldap', {listenerCount: 1})])
    const text = renderReport(two, undefined, UNICODE_GLYPHS)
    golden('check-report-two-hcs', text)
    assert.match(text, /Hops, per hybrid connection\n {2}contoso-relay\/onprem-sql\n/)
    assert.ok(text.trimEnd().endsWith('✓ agent (1) → ? endpoint ldap:389'), text)
    // Without glyphs (as before) there is no picture.
    assert.doesNotMatch(renderReport(two), /Hops/)
  })

  it('an app with no hybrid connection still gets a chain, broken at the app', () => {
    const chain = renderHopChain(report([...appChecks.slice(0, 3), r('app.hybrid-connections', 'fail')]), UNICODE_GLYPHS)
    assert.match(chain, /✗ app contoso-web → \? relay → \? agents → \? endpoint\n {2}app\.hybrid-connections$/)
  })

  const samples = [0.21, 0.25, 0.22, 0.31, 0.29, 0.24, 0.23, 0.8, 0.26, 0.22, 0.27, 0.25, 0.24, 0.33, 0.28, 0.22, 0.21, 0.3, 0.26, 1.2]

  it('histogram: buckets from min to max, bars scaled to the fullest, counts add up', () => {
    const text = renderHistogram(samples, {glyphs: UNICODE_GLYPHS})
    golden('histogram-unicode', text)
    const counts = text.split('\n').slice(1).map((l) => Number(/(\d+)$/.exec(l)![1]))
    assert.equal(counts.reduce((a, b) => a + b, 0), samples.length)
    assert.equal(counts.length, 5, '√20 rounded up')
    golden('histogram-ascii', renderHistogram(samples, {glyphs: ASCII_GLYPHS, buckets: 20}))
    assert.equal(renderHistogram([]), '')
    assert.match(renderHistogram([5, 5, 5]), /\n {2}5\.00 {2}█+ {2}3$/)
  })

  it('tcpping and relay test print their histogram under the summary', () => {
    const attempts = samples.slice(0, 6).map((t, i) => ({seq: i + 1, address: '10.0.0.5', connected: true, timeMs: t * 10}))
    const tcp = {
      target: {host: 'db', port: 1433},
      from: {kind: 'local'},
      dns: {addresses: [{address: '10.0.0.5', family: 4}], timeMs: 1},
      attempts: [...attempts, {seq: 7, address: '10.0.0.5', connected: false, error: 'refused'}],
      summary: {sent: 7, connected: 6, lost: 1, lossPercent: 14, minMs: 2.1, maxMs: 3.1, avgMs: 2.5},
      ok: false,
      minSuccess: 7,
      interrupted: false,
    } as unknown as TcpPingResult
    const text = formatSummary(tcp, ASCII_GLYPHS)
    golden('tcpping-summary-ascii', text)
    assert.match(text, /Connect-time histogram \(ms, 6 connects\)/)
    assert.doesNotMatch(formatSummary(tcp), /histogram/, 'no glyphs, no picture')

    const run = {
      hybridConnection: 'contoso-relay/onprem-sql',
      warnings: [],
      listener: {readyMs: 12, foreignAccepts: 0},
      connections: {attempted: 3, own: 3, foreign: 0, failed: 0, errors: [], connectMs: {minMs: 10, avgMs: 11, p50Ms: 11, maxMs: 12}},
      echo: {count: 20, size: 1024, received: 20, lost: 0, lossPercent: 0, rttMs: {minMs: 0.21, avgMs: 0.3, p50Ms: 0.25, p99Ms: 1.2, maxMs: 1.2}},
      ok: true,
    } as RelayTestRun
    const rt = renderRelayTest(run, {rttSamplesMs: samples, glyphs: UNICODE_GLYPHS})
    golden('relay-test-summary', rt)
    assert.match(rt, /OK\n\nRound-trip histogram \(ms, 20 echoes\)\n/)
  })

  it('the locale decides Unicode or ASCII (LC_ALL, then LC_CTYPE, then LANG)', () => {
    assert.equal(utf8Locale({LANG: 'en_US.UTF-8'}, 'linux'), true)
    assert.equal(utf8Locale({LANG: 'de_DE.utf8'}, 'linux'), true)
    assert.equal(utf8Locale({LC_ALL: 'C', LANG: 'en_US.UTF-8'}, 'linux'), false)
    assert.equal(utf8Locale({LC_CTYPE: 'C.UTF-8', LANG: 'C'}, 'linux'), true)
    assert.equal(utf8Locale({}, 'linux'), false)
    assert.equal(utf8Locale({}, 'win32'), true)
    assert.equal(glyphsFor({LANG: 'POSIX'}, 'darwin'), ASCII_GLYPHS)
  })
})
