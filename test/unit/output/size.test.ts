import {strict as assert} from 'node:assert'

import fc from 'fast-check'

import {parseByteSize} from '../../../src/lib/output/size.js'

describe('parseByteSize (relay test --size/--bulk)', () => {
  it('reads bytes and units as dd does', () => {
    const cases: Array<[string, number]> = [
      ['4096', 4096],
      ['0', 0],
      ['64K', 65_536],
      ['64KiB', 65_536],
      ['50MB', 50_000_000],
      ['50M', 52_428_800],
      ['1.5MiB', 1_572_864],
      ['2kb', 2000],
      [' 1 GiB ', 1_073_741_824],
      ['10B', 10],
    ]
    for (const [text, bytes] of cases) assert.equal(parseByteSize(text, '--bulk'), bytes, text)
  })

  it('refuses what is not a size, and sizes out of bounds, as usage errors naming the flag', () => {
    for (const text of ['', 'MB', '-1', '1e6', '5 QB', '0x10', '1,5M']) {
      assert.throws(() => parseByteSize(text, '--bulk'), (e: Error & {code?: string}) => e.code === 'InvalidSize' && /--bulk/.test(e.message), text)
    }
    assert.throws(() => parseByteSize('2GiB', '--bulk', {max: 1_073_741_824}), /out of range/)
    assert.throws(() => parseByteSize('2', '--size', {min: 4}), /--size 2 \(2 bytes\) is out of range: 4 to any/)
  })

  it('never throws anything but a usage error, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          const n = parseByteSize(text, '--bulk')
          assert.ok(Number.isInteger(n) && n >= 0)
        } catch (error) {
          assert.equal((error as {code?: string}).code, 'InvalidSize')
        }
      }),
    )
  })
})
