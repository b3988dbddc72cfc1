import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {createServer, type Server} from 'node:net'

import fc from 'fast-check'

import {parseDuration} from '../../../src/lib/duration.js'
import {latencyStats, percentile} from '../../../src/lib/diagnose/stats.js'
import {formatAttempt, formatDns, formatSummary} from '../../../src/lib/diagnose/tcpping-render.js'
import {
  type Connector,
  classifyError,
  isNeverResolvable,
  parseHostPort,
  type Resolver,
  summarize,
  systemResolver,
  tcpPing,
} from '../../../src/lib/diagnose/tcpping.js'

const fakeResolver = (addresses: string[]): Resolver => async () => addresses.map((address) => ({address, family: 4 as const}))
const failing = (code: string): Connector => async () => {
  throw Object.assign(new Error(`connect ${code}`), {code})
}

describe('tcpping (library)', () => {
  describe('parseHostPort', () => {
    it('splits host:port and [v6]:port', () => {
      assert.deepEqual(parseHostPort('db01.corp.local:1433'), {host: 'db01.corp.local', port: 1433})
      assert.deepEqual(parseHostPort('[::1]:8080'), {host: '::1', port: 8080})
      assert.deepEqual(parseHostPort('10.0.0.4:22'), {host: '10.0.0.4', port: 22})
    })
    it('rejects what is not host:port with a usage error', () => {
      for (const bad of ['db01', 'db01:', ':80', 'db01:0', 'db01:65536', 'a:b:c', 'http://x:80', '::1:80', 'db 01:80']) {
        assert.throws(() => parseHostPort(bad), (e: {exitCode: number; code: string}) => e.exitCode === 2 && e.code === 'InvalidHostPort', bad)
      }
    })
    it('never throws anything but a usage error, and round-trips valid input (property)', () => {
      fc.assert(
        fc.property(fc.string(), (s) => {
          try {
            const {host, port} = parseHostPort(s)
            assert.ok(port >= 1 && port <= 65535)
            assert.ok(s.endsWith(`:${port}`) && s.includes(host))
          } catch (error) {
            assert.equal((error as {exitCode: number}).exitCode, 2)
          }
        }),
      )
      fc.assert(
        fc.property(fc.domain(), fc.integer({min: 1, max: 65535}), (host, port) => {
          assert.deepEqual(parseHostPort(`${host}:${port}`), {host, port})
        }),
      )
    })
  })

  describe('parseDuration', () => {
    it('reads ms, s, m and bare seconds', () => {
      assert.equal(parseDuration('500ms'), 500)
      assert.equal(parseDuration('1.5s'), 1500)
      assert.equal(parseDuration('2m'), 120_000)
      assert.equal(parseDuration('3'), 3000)
      assert.equal(parseDuration('0'), 0)
    })
    it('rejects garbage with a usage error naming the flag (property)', () => {
      assert.throws(() => parseDuration('soon', {name: '--interval'}), /--interval "soon" is not a duration/)
      fc.assert(
        fc.property(fc.string(), (s) => {
          try {
            const ms = parseDuration(s)
            assert.ok(Number.isInteger(ms) && ms >= 0)
          } catch (error) {
            assert.equal((error as {exitCode: number}).exitCode, 2)
          }
        }),
      )
    })
  })

  describe('statistics', () => {
    it('uses nearest-rank percentiles', () => {
      const xs = Array.from({length: 20}, (_, i) => i + 1)
      assert.equal(percentile(xs, 50), 10)
      assert.equal(percentile(xs, 95), 19)
      assert.equal(percentile(xs, 99), 20)
      assert.equal(percentile([7], 95), 7)
    })
    it('min <= p50 <= p95 <= max and min <= avg <= max (property)', () => {
      fc.assert(
        fc.property(fc.array(fc.double({min: 0, max: 1e5, noNaN: true}), {minLength: 1, maxLength: 200}), (xs) => {
          const s = latencyStats(xs, [50, 95, 99])!
          assert.ok(s.minMs <= s.p50Ms! && s.p50Ms! <= s.p95Ms! && s.p95Ms! <= s.p99Ms! && s.p99Ms! <= s.maxMs)
          assert.ok(s.minMs <= s.avgMs + 0.01 && s.avgMs <= s.maxMs + 0.01)
        }),
      )
    })
    it('summarize: percentiles only from 10 attempts; ok needs every attempt unless --min-success', () => {
      const four = [1, 2, 3, 4].map((seq) => ({seq, connected: seq !== 2, timeMs: seq}))
      const s4 = summarize(four)
      assert.equal(s4.ok, false)
      assert.equal(s4.summary.p50Ms, undefined)
      assert.deepEqual([s4.summary.sent, s4.summary.connected, s4.summary.lost, s4.summary.lossPercent], [4, 3, 1, 25])
      assert.equal(summarize(four, 3).ok, true)
      assert.equal(summarize(four, 9).ok, false, '--min-success above the count needs every attempt')
      const ten = Array.from({length: 10}, (_, i) => ({seq: i + 1, connected: true, timeMs: i + 1}))
      assert.equal(summarize(ten).summary.p95Ms, 10)
      assert.equal(summarize([]).ok, false)
    })
  })

  it('classifies socket and DNS errors in tcpping words', () => {
    assert.equal(classifyError({code: 'ECONNREFUSED'}), 'refused')
    assert.equal(classifyError({code: 'ETIMEDOUT'}), 'timed out')
    assert.equal(classifyError({code: 'EHOSTUNREACH'}), 'unreachable')
    assert.equal(classifyError({code: 'ENETUNREACH'}), 'unreachable')
    assert.equal(classifyError({code: 'ENOTFOUND'}), 'no such host')
    assert.equal(classifyError(new Error('x')), 'error')
  })

  it('answers .invalid names itself (RFC 6761), without asking a server', async () => {
    assert.ok(isNeverResolvable('db.invalid'))
    assert.ok(isNeverResolvable('INVALID'))
    assert.ok(!isNeverResolvable('invalid.example.com'))
    await assert.rejects(systemResolver('x.invalid', 0), (e: {code: string}) => e.code === 'ENOTFOUND')
  })

  it('times DNS once and connects to the first address on every attempt', async () => {
    let resolves = 0
    const dialled: string[] = []
    const r = await tcpPing({
      host: 'db01',
      port: 1433,
      count: 3,
      intervalMs: 0,
      timeoutMs: 100,
      resolve: async (h, f) => {
        resolves++
        return fakeResolver(['10.0.0.5', '10.0.0.6'])(h, f)
      },
      connect: async (a) => {
        dialled.push(a.address)
        return {timeMs: 1.234}
      },
    })
    assert.equal(resolves, 1)
    assert.deepEqual(dialled, ['10.0.0.5', '10.0.0.5', '10.0.0.5'])
    assert.deepEqual(r.dns.addresses.map((a) => a.address), ['10.0.0.5', '10.0.0.6'])
    assert.equal(typeof r.dns.timeMs, 'number')
    assert.equal(r.ok, true)
    assert.equal(r.attempts[0]!.timeMs, 1.23)
    assert.match(formatDns(r), /DNS db01 -> 10\.0\.0\.5, 10\.0\.0\.6/)
  })

  it('reports each failure kind per attempt and fails the run', async () => {
    for (const [code, words] of [['ECONNREFUSED', 'refused'], ['ETIMEDOUT', 'timed out'], ['EHOSTUNREACH', 'unreachable']] as const) {
      const r = await tcpPing({host: 'db01', port: 1, count: 2, intervalMs: 0, timeoutMs: 50, resolve: fakeResolver(['10.0.0.5']), connect: failing(code)})
      assert.equal(r.ok, false)
      assert.deepEqual(r.attempts.map((a) => a.error), [words, words])
      assert.match(formatAttempt(r.attempts[0]!), new RegExp(`10\\.0\\.0\\.5 ${words}`))
    }
  })

  it('an unclassified failure prints its reason; a classified one its kind alone', () => {
    assert.equal(formatAttempt({seq: 1, connected: false, error: 'error', message: 'No listener\r\n is  connected'}), '  1: error (No listener is connected)')
    assert.equal(formatAttempt({seq: 2, connected: false, error: 'error'}), '  2: error')
    assert.equal(formatAttempt({seq: 3, address: '10.0.0.5', connected: false, error: 'refused', message: 'connect ECONNREFUSED 10.0.0.5:1'}), '  3: 10.0.0.5 refused')
  })

  it('a name that does not resolve is one "no such host" attempt', async () => {
    const r = await tcpPing({host: 'db01', port: 1, count: 4, intervalMs: 0, timeoutMs: 50, resolve: async () => [], connect: failing('X')})
    assert.equal(r.dns.error, 'no such host')
    assert.deepEqual(r.attempts, [{seq: 1, connected: false, error: 'no such host', message: 'db01 has no IPv address'}])
    assert.match(formatSummary(r), /Sent = 1, Connected = 0, Lost = 1 \(100% loss\)/)
  })

  it('an IP literal skips DNS; a family that does not match it is a usage error', async () => {
    const r = await tcpPing({host: '10.1.2.3', port: 80, count: 1, intervalMs: 0, timeoutMs: 50, connect: async () => ({timeMs: 1})})
    assert.equal(r.dns.skipped, 'ip-literal')
    await assert.rejects(tcpPing({host: '10.1.2.3', port: 80, count: 1, intervalMs: 0, timeoutMs: 50, family: 6}), /IPv4 address but -6/)
  })

  it('runs until the signal aborts when count is Infinity (-t), and says it was interrupted', async () => {
    const abort = new AbortController()
    let n = 0
    const r = await tcpPing({
      host: '10.1.2.3',
      port: 80,
      count: Number.POSITIVE_INFINITY,
      intervalMs: 0,
      timeoutMs: 50,
      signal: abort.signal,
      connect: async () => {
        if (++n === 5) abort.abort()
        return {timeMs: 1}
      },
    })
    assert.equal(r.interrupted, true)
    assert.equal(r.summary.sent, 5, 'the attempt that completed as Ctrl+C came counts; no further attempt starts')
    assert.equal(r.ok, true)
  })

  describe('against real sockets on 127.0.0.1', () => {
    let server: Server
    let port: number
    before(async () => {
      server = createServer((s) => s.destroy()).listen(0, '127.0.0.1')
      await once(server, 'listening')
      port = (server.address() as {port: number}).port
    })
    after(() => server.close())

    it('connects to an open port and is refused by a closed one', async () => {
      const open = await tcpPing({host: '127.0.0.1', port, count: 2, intervalMs: 0, timeoutMs: 2000})
      assert.equal(open.ok, true, JSON.stringify(open))
      const closed = createServer().listen(0, '127.0.0.1')
      await once(closed, 'listening')
      const closedPort = (closed.address() as {port: number}).port
      closed.close()
      await once(closed, 'close')
      const refused = await tcpPing({host: '127.0.0.1', port: closedPort, count: 1, intervalMs: 0, timeoutMs: 2000})
      assert.equal(refused.attempts[0]!.error, 'refused')
    })
  })
})
