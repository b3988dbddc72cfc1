import {strict as assert} from 'node:assert'
import {once} from 'node:events'
import {createServer, type Server} from 'node:net'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {call, expectOk, scaffold, webHcBody} from './helpers.js'

describe('emulator app sandbox (Kudu command API: tcpping, nameresolver)', () => {
  let emu: Emulator
  let s: Awaited<ReturnType<typeof scaffold>>
  let tcp: Server
  let tcpPort: number
  const dials: Array<{namespace: string; name: string; keyName: string; key: string}> = []
  let relayUp = true

  before(async () => {
    emu = await startEmulator({
      inMemory: true,
      relayDialer: async (o) => {
        dials.push({namespace: o.namespace, name: o.name, keyName: o.keyName, key: o.key})
        if (!relayUp) throw new Error('There are no listeners connected for the endpoint')
        return {close() {}}
      },
    })
    s = await scaffold(emu)
    tcp = createServer((socket) => socket.destroy())
    tcp.listen(0, '127.0.0.1')
    await once(tcp, 'listening')
    tcpPort = (tcp.address() as {port: number}).port
  })
  after(async () => {
    tcp.close()
    await emu.stop()
  })

  const command = (cmd: string, path = s.sitePath, body?: unknown) => call(emu, 'POST', `${path}/extensions/api/command`, {apiVersion: '2015-08-01', body: body ?? {command: cmd, dir: null}})

  it('tcpping host:port to a plain TCP endpoint prints Kudu lines and a summary', async () => {
    const r = await expectOk(command(`tcpping -n 2 127.0.0.1:${tcpPort}`))
    const lines = r.json.Output.trim().split(/\r\n/)
    assert.equal(lines.length, 3)
    assert.match(lines[0], new RegExp(`^Connected to 127\\.0\\.0\\.1:${tcpPort}, time taken: (<1|\\d+)ms$`))
    assert.match(lines[2], /^Complete: 2\/2 successful attempts \(100%\)\. Average success time: [\d.]+ms$/)
    assert.equal(r.json.ExitCode, 0)
    assert.equal(r.json.Error, '')
  })

  it('refused and unresolvable targets fail with Kudu-like lines and exit 1', async () => {
    tcp.close()
    const refused = await expectOk(command(`tcpping -n 1 127.0.0.1:${tcpPort}`))
    assert.match(refused.json.Output, /Connection attempt failed: No connection could be made/)
    assert.match(refused.json.Output, /Complete: 0\/1 successful attempts \(0%\)/)
    assert.equal(refused.json.ExitCode, 1)
    const unknown = await expectOk(command('tcpping -n 1 no-such-host.invalid:80'))
    assert.match(unknown.json.Output, /No such host is known/)
    const usage = await expectOk(command('tcpping'))
    assert.equal(usage.json.ExitCode, 1)
    const other = await expectOk(command('dir'))
    assert.match(other.json.Error, /not recognized/)
    assert.equal((await command('', s.sitePath, {dir: null})).status, 400)
  })

  it("a host:port of one of the app's hybrid connections goes out through the relay as a sender with the stored send key", async () => {
    await expectOk(call(emu, 'PUT', `${s.sitePath}/hybridConnectionNamespaces/relay-ns1/relays/hc1`, {body: webHcBody(s, 'relay-ns1', 'hc1')}))
    const r = await expectOk(command('tcpping -n 1 DB.internal:5432'))
    assert.match(r.json.Output, /^Connected to DB\.internal:5432, time taken/)
    assert.deepEqual(dials.at(-1), {namespace: 'relay-ns1', name: 'hc1', keyName: 'defaultSender', key: webHcBody(s, 'relay-ns1', 'hc1').properties.sendKeyValue})
    relayUp = false
    const down = await expectOk(command('tcpping -n 1 db.internal:5432'))
    assert.match(down.json.Output, /Connection attempt failed: There are no listeners connected for the endpoint/)
    assert.equal(down.json.ExitCode, 1)
    relayUp = true
    // A slot has its own connections: the same host:port from the slot is not routed through the relay.
    await expectOk(call(emu, 'PUT', `${s.sitePath}/slots/blue`, {body: {location: 'westeurope'}}))
    const before = dials.length
    await expectOk(command('tcpping -n 1 -w 300 127.0.0.1:1', `${s.sitePath}/slots/blue`))
    assert.equal(dials.length, before)
  })

  it('nameresolver resolves a name the Kudu way', async () => {
    const r = await expectOk(command('nameresolver localhost'))
    assert.match(r.json.Output, /Name: localhost/)
    assert.match(r.json.Output, /Addresses:/)
    const bad = await expectOk(command('nameresolver no-such-host.invalid'))
    assert.match(bad.json.Output, /Can't find no-such-host\.invalid/)
    assert.equal(bad.json.ExitCode, 1)
  })
})
