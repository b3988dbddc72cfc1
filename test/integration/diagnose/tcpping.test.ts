import {strict as assert} from 'node:assert'
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {createServer, type Server} from 'node:net'

import {RUN_JS, runCli} from '../../helpers/cli.js'
import type {TcpPingResult} from '../../../src/lib/diagnose/tcpping.js'

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as {port: number}).port
}

describe('hcctl tcpping (real process, loopback only)', () => {
  let open: Server
  let openPort: number
  let closedPort: number
  let accepted = 0

  before(async () => {
    open = createServer((s) => {
      accepted++
      s.destroy()
    })
    openPort = await listen(open)
    const closed = createServer()
    closedPort = await listen(closed)
    closed.close()
    await once(closed, 'close')
  })
  after(() => open.close())

  it('an open port: one connect per attempt, every attempt in --json, exit 0', async () => {
    const before = accepted
    const r = await runCli(['tcpping', `127.0.0.1:${openPort}`, '--count', '3', '--interval', '0', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const body = r.json<TcpPingResult>()
    assert.equal(body.ok, true)
    assert.equal(body.attempts.length, 3)
    assert.ok(body.attempts.every((a) => a.connected && typeof a.timeMs === 'number'))
    assert.deepEqual([body.summary.sent, body.summary.connected, body.summary.lost], [3, 3, 0])
    assert.equal(accepted - before, 3, 'exactly one TCP connection per attempt')
  })

  it('a PsPing-like summary for people, with p50/p95 from 10 attempts', async () => {
    const r = await runCli(['tcpping', `localhost:${openPort}`, '-n', '10', '--interval', '0', '-4'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^DNS localhost -> 127\.0\.0\.1 \(\d+(\.\d+)? ms\)/m)
    assert.match(r.stdout, /^ {2}10: 127\.0\.0\.1 connected in \d+(\.\d+)? ms$/m)
    assert.match(r.stdout, /Sent = 10, Connected = 10, Lost = 0 \(0% loss\)/)
    assert.match(r.stdout, /Minimum = .* ms, Maximum = .* ms, Average = .* ms, p50 = .* ms, p95 = .* ms/)
  })

  it('a closed port: refused, exit 3; --min-success does not rescue zero successes', async () => {
    const r = await runCli(['tcpping', `127.0.0.1:${closedPort}`, '-n', '2', '--interval', '0'])
    assert.equal(r.code, 3, r.stderr)
    assert.match(r.stdout, /1: 127\.0\.0\.1 refused/)
    assert.match(r.stdout, /Lost = 2 \(100% loss\)/)
    const json = await runCli(['tcpping', `127.0.0.1:${closedPort}`, '-n', '2', '--interval', '0', '--min-success', '1', '--json'])
    assert.equal(json.code, 3)
    assert.deepEqual(json.json<TcpPingResult>().attempts.map((a) => a.error), ['refused', 'refused'])
  })

  it('an unresolvable name (.invalid never leaves the machine): no such host, exit 3', async () => {
    const r = await runCli(['tcpping', 'db01.hcctl-test.invalid:1433', '--json'])
    assert.equal(r.code, 3, r.stderr)
    const body = r.json<TcpPingResult>()
    assert.equal(body.dns.error, 'no such host')
    assert.equal(body.attempts[0]!.error, 'no such host')
    const human = await runCli(['tcpping', 'db01.hcctl-test.invalid:1433'])
    assert.match(human.stdout, /DNS db01\.hcctl-test\.invalid: no such host/)
  })

  it('-t runs until Ctrl+C, then prints the summary (exit 0 when all connected)', async () => {
    const child = spawn(process.execPath, [RUN_JS, 'tcpping', `127.0.0.1:${openPort}`, '-t', '--interval', '20ms'], {
      env: {...process.env, NO_COLOR: '1'},
    })
    let out = ''
    child.stdout.setEncoding('utf8')
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: string) => {
        out += d
        if (/ 3: 127\.0\.0\.1 connected/.test(out)) resolve()
      })
    })
    child.kill('SIGINT')
    const [code] = await once(child, 'close')
    assert.equal(code, 0)
    assert.match(out, /interrupted/)
    assert.match(out, /Sent = \d+, Connected = \d+, Lost = 0/)
  })

  it('bad input is a usage error (exit 2) with what to do', async () => {
    const r = await runCli(['tcpping', 'db01'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /"db01" is not host:port/)
    const d = await runCli(['tcpping', `127.0.0.1:${openPort}`, '--interval', 'soon'])
    assert.equal(d.code, 2)
    assert.match(d.stderr, /--interval "soon" is not a duration/)
  })
})
