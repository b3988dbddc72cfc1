import {strict as assert} from 'node:assert'
import {createHash, randomBytes} from 'node:crypto'
import {once} from 'node:events'
import {type AddressInfo, connect, createServer, type Server, type Socket} from 'node:net'

import type {Emulator} from '../../../src/emulator/index.js'
import {type HcctlProcess, startAgent, startEcho, startForward, startRelayEmulator} from './helpers.js'

const MiB = 1024 * 1024

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

/** A TCP server on 127.0.0.1 whose connections may write after the client's FIN (allowHalfOpen). */
async function startServer(onConnection: (c: Socket) => void): Promise<Server & {port: number}> {
  const s = createServer({allowHalfOpen: true}, (c) => {
    c.on('error', () => {})
    onConnection(c)
  }) as Server & {port: number}
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  s.port = (s.address() as AddressInfo).port
  return s
}

/** Everything a socket reads until its 'end' (rejects if it closes without one). */
function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.once('end', () => resolve(Buffer.concat(chunks)))
    socket.once('error', reject)
    socket.once('close', () => reject(new Error(`closed without EOF after ${Buffer.concat(chunks).length} bytes`)))
  })
}

/** Writes `data` in 64 KiB pieces with backpressure, then FIN. */
async function sendAndEnd(socket: Socket, data: Buffer): Promise<void> {
  for (let off = 0; off < data.length; off += 64 * 1024) {
    if (!socket.write(data.subarray(off, off + 64 * 1024))) await once(socket, 'drain')
  }
  socket.end()
}

/**
 * Half-close end to end (relay-protocol.md §3.3): client → hcctl forward → emulator relay →
 * hcctl agent → TCP endpoint, where one side shuts down its sending side (FIN) while the other
 * still has bytes to deliver. Every byte must arrive (SHA-256 compared).
 */
describe('e2e: half-close through forward → emulator relay → agent', function () {
  this.timeout(90_000)
  let em: Emulator | undefined
  const servers: Server[] = []
  const procs: HcctlProcess[] = []

  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const s of servers.splice(0)) s.close()
    await em?.stop()
    em = undefined
  })

  async function tunnelTo(server: Server & {port: number}): Promise<number> {
    servers.push(server)
    em = await startRelayEmulator({hc1: `127.0.0.1:${server.port}`})
    procs.push(await startAgent(em, ['hc1']))
    const fwd = await startForward(em, 'hc1')
    procs.push(fwd)
    return fwd.port
  }

  it('16 MiB echoed to a client that sent FIN after its last byte: all 16 MiB come back', async () => {
    const port = await tunnelTo(await startEcho())
    const client = connect({port, host: '127.0.0.1', allowHalfOpen: true})
    await once(client, 'connect')
    const data = randomBytes(16 * MiB)
    const back = readAll(client)
    await sendAndEnd(client, data) // FIN right after the last byte, long before the echo is back
    const got = await back
    assert.equal(got.length, data.length, `received ${got.length} of ${data.length} bytes`)
    assert.equal(sha(got), sha(data))
    client.destroy()
  })

  it('an endpoint that answers and closes first while the client still sends: both directions arrive whole', async () => {
    const answer = randomBytes(4 * MiB)
    let endpointGot: Promise<Buffer> | undefined
    const port = await tunnelTo(
      await startServer((c) => {
        endpointGot = readAll(c)
        c.end(answer) // answer at once, then FIN, and keep reading
      }),
    )
    const client = connect({port, host: '127.0.0.1', allowHalfOpen: true})
    await once(client, 'connect')
    const back = readAll(client)
    const upload = randomBytes(8 * MiB)
    // The endpoint's answer and FIN reach the client while it is still uploading.
    const got = await back
    assert.equal(sha(got), sha(answer), `the answer arrived whole (${got.length} of ${answer.length} bytes) before EOF`)
    await sendAndEnd(client, upload)
    const received = await endpointGot!
    assert.equal(received.length, upload.length, `the endpoint read ${received.length} of ${upload.length} bytes`)
    assert.equal(sha(received), sha(upload))
    client.destroy()
  })

  it('a request/response endpoint that answers only after EOF (like wc -c) gets the request and its answer arrives', async () => {
    const port = await tunnelTo(
      await startServer((c) => {
        let n = 0
        c.on('data', (d: Buffer) => (n += d.length))
        c.on('end', () => c.end(`${n}\n`))
      }),
    )
    for (const size of [1, 5 * MiB]) {
      const client = connect({port, host: '127.0.0.1', allowHalfOpen: true})
      await once(client, 'connect')
      const back = readAll(client)
      await sendAndEnd(client, randomBytes(size))
      assert.equal((await back).toString(), `${size}\n`)
      client.destroy()
    }
  })
})
