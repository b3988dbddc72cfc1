import {strict as assert} from 'node:assert'
import {readFileSync} from 'node:fs'

import {SNAPSHOT_FILE, interfaceSnapshot} from '../../helpers/interface-snapshot.js'

// Commands, args, flags (kind, short name, env, options, default, exclusivity) and the keys
// and types of every --json result, against the committed snapshot: a change here is a change
// for scripts that call hcctl. If it is intended, run `npm run snapshot:interface` and commit
// the snapshot with the change (the diff is the interface change, for review).
describe('the command-line interface matches its snapshot', function () {
  this.timeout(180_000)

  it('test/snapshots/interface.json', async () => {
    const expected = JSON.parse(readFileSync(SNAPSHOT_FILE, 'utf8')) as unknown
    const actual = JSON.parse(JSON.stringify(await interfaceSnapshot())) as unknown
    assert.deepEqual(actual, expected, 'The CLI interface changed. If that is intended, run `npm run snapshot:interface` and commit test/snapshots/interface.json.')
  })
})
