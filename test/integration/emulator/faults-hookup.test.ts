import {strict as assert} from 'node:assert'

import type {RelayFaults} from '../../../src/emulator/contracts.js'
import {startEmulator} from '../../../src/emulator/index.js'
import {createRelayBroker} from '../../../src/emulator/relay/broker.js'
import {call} from './helpers.js'

describe('emulator faults reach the relay broker', () => {
  it('--faults relay.* items go to broker.setFaults (merged) and relay.dropListeners to broker.dropListeners', async () => {
    const set: RelayFaults[] = []
    const drops: Array<[string | undefined, string | undefined]> = []
    const emu = await startEmulator({
      inMemory: true,
      faults: 'relay.refuseRendezvous=503,relay.dropListeners=ns1/hc1',
      createBroker: (options) => {
        const real = createRelayBroker(options)
        return {
          ...real,
          setFaults: (f) => {
            set.push(f)
            real.setFaults(f)
          },
          dropListeners: (ns, name) => {
            drops.push([ns, name])
            return real.dropListeners(ns, name)
          },
        }
      },
    })
    try {
      assert.deepEqual(set.at(-1), {refuseRendezvous: 503})
      assert.deepEqual(drops, [['ns1', 'hc1']])
      emu.setFaults('relay.expireTokensEarly=30,relay.stallRendezvous=true')
      assert.deepEqual(set.at(-1), {refuseRendezvous: 503, expireTokensEarlySeconds: 30, stallRendezvous: true})
      emu.setFaults('relay.refuseRendezvous=0')
      assert.deepEqual(set.at(-1), {expireTokensEarlySeconds: 30, stallRendezvous: true})
      const cleared = await call(emu, 'DELETE', '/emulator/admin/faults', {apiVersion: null})
      assert.equal(cleared.status, 200)
      assert.deepEqual(set.at(-1), {})
      const info = await call(emu, 'GET', '/emulator/info', {apiVersion: null, token: null})
      assert.equal(info.json.pid, process.pid)
    } finally {
      await emu.stop()
    }
  })
})
