import {strict as assert} from 'node:assert'
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {fileURLToPath} from 'node:url'

import type {Emulator} from '../../../src/emulator/index.js'
import {echoTransfer, type HcctlProcess, ruleKey, startAgent, startEcho, startForward, startRelayEmulator} from './helpers.js'

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/**
 * Microsoft's hyco-ws as the peer on each side. hyco-ws cannot be told which CA to trust except
 * through NODE_EXTRA_CA_CERTS, so it runs in a child process; it dials the emulator by IP
 * (its helpers hard-code port 443), which the emulator resolves by hybrid connection name.
 */
describe('e2e: interoperability with Microsoft hyco-ws', function () {
  this.timeout(60_000)
  let em: Emulator
  let echo: Awaited<ReturnType<typeof startEcho>>
  const procs: HcctlProcess[] = []
  const children: Array<ReturnType<typeof spawn>> = []

  beforeEach(async () => {
    echo = await startEcho()
    em = await startRelayEmulator({hc1: `127.0.0.1:${echo.port}`})
  })
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL')
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    echo.close()
    await em.stop()
  })

  const hyco = (script: string, args: string[]) => {
    const child = spawn(process.execPath, [fixture(script), ...args], {env: {...process.env, NODE_EXTRA_CA_CERTS: em.caPath}, stdio: ['ignore', 'pipe', 'pipe']})
    children.push(child)
    let out = ''
    let err = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    return {child, out: () => out, err: () => err}
  }

  it('a hyco-ws sender through the emulator to our agent', async () => {
    procs.push(await startAgent(em, ['hc1']))
    const base = `wss://127.0.0.1:${em.port}/$hc/hc1`
    const s = hyco('hyco-sender.cjs', [`${base}?sb-hc-action=connect`, base, 'defaultSender', ruleKey(em, 'hc1', 'defaultSender'), String(1024 * 1024)])
    const [code] = (await once(s.child, 'exit')) as [number]
    assert.equal(code, 0, `hyco-ws sender failed:\n${s.err()}`)
    const r = JSON.parse(s.out().trim())
    assert.equal(r.bytes, 1024 * 1024)
    assert.equal(r.receivedSha, r.sentSha)
  })

  it('our forward through the emulator to a hyco-ws listener', async () => {
    const base = `wss://127.0.0.1:${em.port}/$hc/hc1`
    const l = hyco('hyco-listener.cjs', [`${base}?sb-hc-action=listen`, base, 'defaultListener', ruleKey(em, 'hc1', 'defaultListener')])
    while (!l.out().includes('listening')) {
      if (l.child.exitCode !== null) assert.fail(`hyco-ws listener exited:\n${l.err()}`)
      await once(l.child.stdout!, 'data')
    }
    const fwd = await startForward(em, 'hc1')
    procs.push(fwd)
    const r = await echoTransfer(fwd.port, 1024 * 1024, {chunk: 32 * 1024})
    assert.equal(r.receivedSha, r.sentSha)
    assert.match(l.out(), /connection/)
  })
})
