import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {hostConcern, parseEndpoint} from '../../../src/lib/hybrid/endpoint.js'
import {formatEndpoint, formatEndpointMetadata, parseEndpointMetadata} from '../../../src/lib/relay/endpoint.js'

describe('hybrid/endpoint', () => {
  it('parses host:port, IPv4 and bracketed IPv6', () => {
    assert.deepEqual(parseEndpoint('sql01.corp.local:1433'), {host: 'sql01.corp.local', port: 1433})
    assert.deepEqual(parseEndpoint('10.0.0.4:80'), {host: '10.0.0.4', port: 80})
    assert.deepEqual(parseEndpoint('[::1]:8080'), {host: '::1', port: 8080})
    assert.equal(formatEndpoint({host: '::1', port: 8080}), '[::1]:8080')
  })

  for (const bad of ['', 'host', 'host:', ':80', 'host:0', 'host:65536', 'host:80a', 'ho st:80', '::1:80', 'a..b:80', 'host:+80', 'x'.repeat(64) + ':80']) {
    it(`refuses "${bad.slice(0, 20)}" with a usage error`, () => {
      assert.throws(() => parseEndpoint(bad), (e: {exitCode: number}) => e.exitCode === 2)
    })
  }

  it('flags IP addresses and localhost', () => {
    assert.equal(hostConcern('10.1.2.3'), 'ip-address')
    assert.equal(hostConcern('127.0.0.1'), 'localhost')
    assert.equal(hostConcern('LocalHost'), 'localhost')
    assert.equal(hostConcern('::1'), 'localhost')
    assert.equal(hostConcern('sql01'), undefined)
  })

  it('reads metadata the way HCM does: key and property names case-insensitive', () => {
    const m = parseEndpointMetadata('[{"Key":"Endpoint","Value":"db:1433"},{"key":"owner","value":"ops"}]')
    assert.ok(m.ok)
    assert.deepEqual(m.endpoint, {host: 'db', port: 1433})
  })

  const problems: Array<[string | undefined, string]> = [
    [undefined, 'missing'],
    ['', 'missing'],
    ['db:1433', 'not-json'],
    ['{"key":"endpoint","value":"db:1"}', 'not-a-list'],
    ['[1]', 'not-a-list'],
    ['[{"key":"owner","value":"ops"}]', 'no-endpoint'],
    ['[{"key":"endpoint","value":"a:1"},{"key":"ENDPOINT","value":"b:2"}]', 'several-endpoints'],
    ['[{"key":"endpoint","value":"db"}]', 'bad-endpoint'],
    ['[{"key":"endpoint","value":"db:99999"}]', 'bad-endpoint'],
  ]
  for (const [raw, problem] of problems) {
    it(`names the problem "${problem}" for ${JSON.stringify(raw)}`, () => {
      const m = parseEndpointMetadata(raw)
      assert.ok(!m.ok)
      assert.equal(m.problem, problem)
    })
  }

  it('writes the canonical form, keeping other items', () => {
    assert.equal(formatEndpointMetadata({host: 'db', port: 1}), '[{"key":"endpoint","value":"db:1"}]')
    const m = parseEndpointMetadata('[{"key":"owner","value":"ops"},{"key":"endpoint","value":"old:1"}]')
    assert.equal(formatEndpointMetadata({host: 'new', port: 2}, m.ok ? m.items : []), '[{"key":"endpoint","value":"new:2"},{"key":"owner","value":"ops"}]')
  })

  it('never throws on any metadata text (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (raw) => {
        const m = parseEndpointMetadata(raw)
        if (m.ok) assert.ok(m.endpoint.port >= 1 && m.endpoint.port <= 65535)
      }),
      {numRuns: 500},
    )
  })

  it('round-trips every valid endpoint through the metadata (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/)
    fc.assert(
      fc.property(fc.array(label, {minLength: 1, maxLength: 4}), fc.integer({min: 1, max: 65535}), (labels, port) => {
        const endpoint = {host: labels.join('.'), port}
        const m = parseEndpointMetadata(formatEndpointMetadata(endpoint))
        assert.ok(m.ok)
        assert.deepEqual(m.endpoint, endpoint)
      }),
    )
  })

  it('accepts or refuses any endpoint text without crashing (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const e = parseEndpoint(text)
          assert.ok(e.port >= 1 && e.port <= 65535)
        } catch (error) {
          assert.equal((error as {exitCode: number}).exitCode, 2)
        }
      }),
      {numRuns: 500},
    )
  })
})
