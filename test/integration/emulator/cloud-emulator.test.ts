import {strict as assert} from 'node:assert'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {runCli} from '../../helpers/cli.js'

describe('--cloud emulator in other commands (real processes, in-process emulator)', () => {
  let emu: Emulator
  let dir: string
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hcctl-emu-cloud-'))
    emu = await startEmulator({inMemory: true, stateDir: dir, seed: 'demo'})
  })
  after(async () => {
    await emu.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it('hcctl arm get signs in with the profile defaults and trusts the emulator CA only for this cloud', async () => {
    const r = await runCli(['arm', 'get', '/subscriptions?api-version=2022-09-01', '--cloud', 'emulator', '--json'], {env: {HCCTL_EMULATOR_STATE: dir}})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(emu.subscriptionId))
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(emu.principals.contributor.clientSecret))
    const ns = await runCli(['arm', 'get', `/subscriptions/${emu.subscriptionId}/resourceGroups/hcctl-demo/providers/Microsoft.Relay/namespaces/demo-relay/hybridConnections/demo-hc?api-version=2017-04-01`, '--cloud', 'emulator', '--json'], {env: {HCCTL_EMULATOR_STATE: dir}})
    assert.equal(ns.code, 0, ns.stderr)
    assert.match(ns.stdout, /localhost:8080/)
  })
})
