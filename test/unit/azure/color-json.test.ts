import {strict as assert} from 'node:assert'

import {colorJson} from '../../../src/cli/arm-command.js'

describe('hcctl arm output', () => {
  it('pretty JSON, coloured only when asked, same text without the colour codes', () => {
    const value = {name: 'contoso', count: 3, ok: true, none: null, nested: {list: ['a', -1.5e3]}}
    const plain = colorJson(value, false)
    assert.equal(plain, JSON.stringify(value, null, 2))
    const coloured = colorJson(value, true)
    assert.ok(coloured.includes('\u001B['), 'has ANSI colours')
    // eslint-disable-next-line no-control-regex
    assert.equal(coloured.replace(/\u001B\[\d+m/g, ''), plain)
  })
})
