import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {parseKuduTcpPing} from '../../../src/lib/diagnose/kudu.js'

describe('Kudu tcpping output parser', () => {
  it('reads connected lines (including <1ms), failures by kind, and the Complete line', () => {
    const r = parseKuduTcpPing(
      [
        'Connected to db01.corp.local:1433, time taken: 41ms',
        'Connected to db01.corp.local:1433, time taken: <1ms',
        'Connection attempt failed: No such host is known',
        'Connection attempt failed: No connection could be made because the target machine actively refused it 10.0.0.5:1433',
        'Connection timed out',
        'Complete: 2/5 successful attempts (40%). Average success time: 20.5ms',
        'something else',
      ].join('\r\n'),
    )
    assert.deepEqual(
      r.attempts.map((a) => [a.seq, a.connected, a.timeMs, a.error]),
      [
        [1, true, 41, undefined],
        [2, true, 0, undefined],
        [3, false, undefined, 'no such host'],
        [4, false, undefined, 'refused'],
        [5, false, undefined, 'timed out'],
      ],
    )
    assert.deepEqual(r.reported, {connected: 2, sent: 5})
    assert.deepEqual(r.other, ['something else'])
  })

  it('never throws and never invents attempts from arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.string({maxLength: 400}), (s) => {
        const r = parseKuduTcpPing(s)
        const lines = s.split(/\r?\n/).filter((l) => /^\s*(Connected to|Connection attempt failed)/i.test(l))
        assert.ok(r.attempts.length <= lines.length)
      }),
    )
  })
})
