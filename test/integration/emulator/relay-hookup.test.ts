import {strict as assert} from 'node:assert'
import {once} from 'node:events'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {credentialsFromKey} from '../../../src/lib/relay/credentials.js'
import {RelayListener} from '../../../src/lib/relay/listener.js'
import {transportFromCloud} from '../../../src/lib/relay/transport.js'
import {call, expectOk, scaffold, webHcBody} from './helpers.js'

/** The ARM side and the real broker together: listenerCount, deletes, the sandbox's sends. */
describe('emulator ARM + relay broker', () => {
  let emu: Emulator
  let s: Awaited<ReturnType<typeof scaffold>>
  let listener: RelayListener
  let accepted = 0

  before(async () => {
    emu = await startEmulator({inMemory: true})
    s = await scaffold(emu)
    await expectOk(call(emu, 'PUT', `${s.hcPath}/authorizationRules/defaultListener`, {body: {properties: {rights: ['Listen']}}}))
    await expectOk(call(emu, 'PUT', `${s.hcPath}/authorizationRules/defaultSender`, {body: {properties: {rights: ['Send']}}}))
    const listenKey = (await expectOk(call(emu, 'POST', `${s.hcPath}/authorizationRules/defaultListener/listKeys`))).json.primaryKey
    listener = new RelayListener({
      credentials: credentialsFromKey({host: `relay-ns1${emu.relaySuffix}`, entity: 'hc1', keyName: 'defaultListener', key: listenKey}),
      transport: transportFromCloud(emu.profile),
      backoffMinMs: 50,
      backoffMaxMs: 100,
    })
    listener.on('accept', (req: {accept(): Promise<{close(): void}>}) => {
      accepted++
      void req.accept().then((ws) => ws.close())
    })
    listener.on('error', () => {})
    listener.on('fatal', () => {})
    await listener.start()
  })
  after(async () => {
    await listener.stop()
    await emu.stop()
  })

  it('listenerCount in ARM reflects the live listener', async () => {
    const hc = await expectOk(call(emu, 'GET', s.hcPath))
    assert.equal(hc.json.properties.listenerCount, 1)
    const list = await expectOk(call(emu, 'GET', `${s.nsPath}/hybridConnections`))
    assert.equal(list.json.value[0].properties.listenerCount, 1)
  })

  it("the sandbox's tcpping to an attached endpoint goes through the relay to the listener with the app's send key", async () => {
    const sendKey = (await expectOk(call(emu, 'POST', `${s.hcPath}/authorizationRules/defaultSender/listKeys`))).json.primaryKey
    await expectOk(call(emu, 'PUT', `${s.sitePath}/hybridConnectionNamespaces/relay-ns1/relays/hc1`, {body: webHcBody(s, 'relay-ns1', 'hc1', {sendKeyValue: sendKey})}))
    const r = await expectOk(call(emu, 'POST', `${s.sitePath}/extensions/api/command`, {apiVersion: '2015-08-01', body: {command: 'tcpping -n 2 db.internal:5432'}}))
    assert.match(r.json.Output, /Complete: 2\/2 successful attempts/, r.json.Output)
    assert.equal(accepted, 2)
    // A wrong stored key: the relay refuses the sender (401) and nothing reaches the listener.
    await expectOk(call(emu, 'PATCH', `${s.sitePath}/hybridConnectionNamespaces/relay-ns1/relays/hc1`, {body: {properties: {sendKeyValue: Buffer.alloc(32, 1).toString('base64')}}}))
    const bad = await expectOk(call(emu, 'POST', `${s.sitePath}/extensions/api/command`, {apiVersion: '2015-08-01', body: {command: 'tcpping -n 1 db.internal:5432'}}))
    assert.match(bad.json.Output, /Complete: 0\/1/)
    assert.equal(accepted, 2)
  })

  it('dropListeners through the admin endpoint closes the control channel; deleting the HC ends it for good', async () => {
    const dropped = await expectOk(call(emu, 'POST', '/emulator/admin/relay/drop-listeners', {apiVersion: null, body: {namespace: 'relay-ns1'}}))
    assert.equal(dropped.json.dropped, 1)
    await once(listener, 'listening')
    assert.equal((await expectOk(call(emu, 'GET', s.hcPath))).json.properties.listenerCount, 1, 'the listener reconnected')
    await expectOk(call(emu, 'DELETE', s.hcPath))
    assert.equal(emu.broker.listenerCount('relay-ns1', 'hc1'), 0)
  })
})
