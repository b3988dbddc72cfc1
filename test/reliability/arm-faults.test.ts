import {strict as assert} from 'node:assert'

import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {ArmRequestRecord, Emulator} from '../../src/emulator/index.js'
import {startEmulator} from '../../src/emulator/index.js'
import {DEFAULT_RETRY} from '../../src/lib/azure/arm-retry.js'
import {runCli} from '../helpers/cli.js'
import {count, emulatorWithSeed, SEED, startCli} from './helpers.js'

/**
 * ARM faults (issue 12, item 4), the SIGINT part of item 5, and the ARM defects of item 9, as
 * real processes against the emulator: a seeded mix of 429s and 503s over the whole
 * provisioning sequence, 100% 503, a 409 on a write, a Retry-After beyond the budget, an
 * unreachable ARM in `check`, and Ctrl+C in `create --create-namespace` then a rerun.
 */
describe('reliability: ARM faults', function () {
  this.timeout(120_000)
  let emulator: Emulator
  let env: NodeJS.ProcessEnv

  beforeEach(async () => {
    ;({emulator, env} = await emulatorWithSeed())
  })
  afterEach(async () => {
    await emulator.stop()
  })

  const relay = ['--namespace', 'new-relay', '--relay-resource-group', 'relay']

  /** Groups the log by hcctl request (its client request id), in arrival order. */
  function byClientRequest(log: ArmRequestRecord[]): ArmRequestRecord[][] {
    const groups = new Map<string, ArmRequestRecord[]>()
    for (const r of log) {
      const key = r.clientRequestId ?? r.requestId
      groups.set(key, [...(groups.get(key) ?? []), r])
    }
    return [...groups.values()]
  }

  it('30% 429 + 10% 503 (seeded): the whole sequence succeeds, no duplicates, Retry-After honoured, retries within the bound', async () => {
    emulator.setFaults('arm.rate429=0.3,arm.rate503=0.1,arm.seed=20261205,arm.retryAfter=1')
    const sequence = [
      ['create', 'newhc', '--namespace', 'new-relay', '-g', 'relay', '--endpoint', 'db9.corp:1433', '--create-namespace'],
      ['attach', 'newhc', ...relay, '--app', 'web-1', '-g', 'apps'],
      ['list', '--namespace', 'new-relay', '-g', 'relay'],
      ['keys', 'rotate', 'newhc', '--namespace', 'new-relay', '-g', 'relay'],
      ['endpoint', 'set', 'newhc', '--namespace', 'new-relay', '-g', 'relay', '--endpoint', 'db10.corp:1433'],
      ['disconnect', 'newhc', ...relay, '--app', 'web-1', '-g', 'apps'],
    ]
    let retries = 0
    let maxPerRequest = 0
    let minSlackMs = Infinity
    let maxGapErrorMs = 0
    let attachedAfterAttach = 0
    const injected = {requests: 0, throttled: 0, unavailable: 0}
    for (const args of sequence) {
      emulator.clearArmRequests()
      const r = await runCli(args, {env, timeoutMs: 90_000})
      assert.equal(r.code, 0, `${args.slice(0, 2).join(' ')} failed:\n${r.stderr}`)
      if (args[0] === 'attach') attachedAfterAttach = emulator.state.data.sites.find((s) => s.name === 'web-1')!.hybridConnections.filter((h) => h.relayName === 'newhc').length
      const log = emulator.armRequests()
      injected.requests += log.length
      injected.throttled += log.filter((x) => x.status === 429).length
      injected.unavailable += log.filter((x) => x.status === 503).length
      for (const group of byClientRequest(log)) {
        const throttled = group.filter((g) => g.status === 429).length
        const failed = group.filter((g) => g.status >= 500).length
        assert.ok(throttled <= DEFAULT_RETRY.maxThrottledRetries && failed <= DEFAULT_RETRY.maxRetries + 1, `${group[0]!.method} ${group[0]!.path}: ${group.length} attempts`)
        retries += group.length - 1
        maxPerRequest = Math.max(maxPerRequest, group.length - 1)
        for (let i = 1; i < group.length; i++) {
          const prev = group[i - 1]!
          if (prev.retryAfter === undefined) continue
          const gap = group[i]!.arrivedAt - prev.answeredAt
          const slack = gap - prev.retryAfter * 1000
          // Millisecond clocks in two processes (the timer may fire within 1 ms of its due time): 2 ms of slack.
          assert.ok(slack >= -2, `a retry came ${gap} ms after a ${prev.status} that asked for ${prev.retryAfter} s (${prev.method} ${prev.path})`)
          minSlackMs = Math.min(minSlackMs, slack)
          maxGapErrorMs = Math.max(maxGapErrorMs, slack)
        }
      }
    }
    const all = emulator.state.data
    const namespaces = all.namespaces.filter((n) => n.name === 'new-relay')
    assert.equal(namespaces.length, 1, 'one namespace')
    const hcs = namespaces[0]!.hybridConnections.filter((h) => h.name === 'newhc')
    assert.equal(hcs.length, 1, 'one hybrid connection')
    assert.equal(hcs[0]!.userMetadata?.includes('db10.corp'), true, 'endpoint set landed')
    const rules = hcs[0]!.rules.map((r) => r.name.toLowerCase()).sort()
    assert.deepEqual(rules, [...new Set(rules)], 'no duplicate rules')
    assert.equal(attachedAfterAttach, 1, 'attach made exactly one attachment')
    assert.equal(all.sites.find((s) => s.name === 'web-1')!.hybridConnections.filter((h) => h.relayName === 'newhc').length, 0, 'disconnect removed it')
    assert.ok(injected.throttled > 0 && injected.unavailable > 0, 'the faults did fire')
    count(
      `arm faults: ${injected.requests} requests, ${injected.throttled} 429s, ${injected.unavailable} 503s, ${retries} retries (max ${maxPerRequest} for one request; bound ${DEFAULT_RETRY.maxRetries} after failures + ${DEFAULT_RETRY.maxThrottledRetries} after 429s), Retry-After honoured (max gap error +${maxGapErrorMs} ms, min ${minSlackMs === Infinity ? '-' : minSlackMs} ms), duplicates 0`,
    )
  })

  it('100% 503: a command fails within its retry budget, exit 1, naming the last error and the request id', async () => {
    emulator.setFaults('arm.rate503=1')
    const started = Date.now()
    const r = await runCli(['list', '--namespace', 'contoso-relay', '-g', 'relay'], {env: {...env, HCCTL_RETRY_BUDGET: '5'}, timeoutMs: 60_000})
    const ms = Date.now() - started
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /^Error: .*503/m, 'names the last error')
    const ids = emulator.armRequests().filter((x) => x.status === 503).map((x) => x.requestId)
    const last = ids.at(-1)!
    assert.ok(r.stderr.includes(`Request id ${last}`), `names the last request id ${last}:\n${r.stderr}`)
    assert.ok(ms < 5000 + 8000, `took ${ms} ms (budget 5 s plus start-up)`)
    assert.ok(ids.length <= DEFAULT_RETRY.maxRetries + 1, `${ids.length} attempts`)
    count(`arm 100% 503: exit 1 after ${ids.length} attempts in ${(ms / 1000).toFixed(1)} s (budget 5 s), last request id shown`)
  })

  it('a 409 on a write is never retried: exactly one request reaches it', async () => {
    emulator.setFaults('arm.409=1,arm.on=PUT')
    const r = await runCli(['endpoint', 'set', 'sql', '--namespace', 'contoso-relay', '-g', 'relay', '--endpoint', 'db11.corp:1433'], {env})
    assert.equal(r.code, 6, r.stderr)
    const puts = emulator.armRequests().filter((x) => x.method === 'PUT')
    assert.equal(puts.length, 1, puts.map((p) => `${p.method} ${p.path} ${p.status}`).join('\n'))
    assert.equal(puts[0]!.status, 409)
    count('arm 409 on a PUT: 1 request, not retried, exit 6')
  })

  it('Retry-After beyond the budget: said at once on stderr, no silent sleep, exit 1', async () => {
    emulator.setFaults('arm.429=2,arm.retryAfter=100')
    const started = Date.now()
    const r = await runCli(['list', '--namespace', 'contoso-relay', '-g', 'relay'], {env: {...env, HCCTL_RETRY_BUDGET: '30'}, timeoutMs: 60_000})
    const ms = Date.now() - started
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /asks to wait 100 s \(Retry-After\), more than the \d+ s left of the 30 s retry budget \(HCCTL_RETRY_BUDGET\); not waiting/)
    assert.match(r.stderr, /Request id /)
    assert.ok(ms < 15_000, `took ${ms} ms`)
    count(`arm Retry-After 100 s with a 30 s budget: refused at once (${(ms / 1000).toFixed(1)} s), exit 1`)
  })

  it('a wait longer than a few seconds is said on stderr, with what it waits for', async () => {
    emulator.setFaults('arm.429=1,arm.retryAfter=3')
    const r = await runCli(['list', '--namespace', 'contoso-relay', '-g', 'relay'], {env, timeoutMs: 60_000})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /ARM throttled the request \(429\) on GET \S+; waiting 3 s as its Retry-After asks \(throttled retry 1 of 10\)/)
    count('arm Retry-After 3 s: announced on stderr, then succeeded')
  })

  it('check with an unreachable ARM reports it in net.arm (host, cause, proxy), not as a failed app.exists', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'hcctl-rel-'))
    const stopped = await startEmulator({inMemory: true, stateDir, seed: SEED})
    await stopped.stop()
    const deadEnv = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: stateDir, HTTPS_PROXY: 'http://127.0.0.1:1', HCCTL_PROXY_LOOPBACK: '1'}
    const r = await runCli(['check', '--app', 'web-1', '-g', 'apps', '--json'], {env: deadEnv, timeoutMs: 60_000})
    assert.equal(r.code, 3, r.stderr)
    const report = r.json<{checks: Array<{id: string; status: string; evidence: string[]; data?: {proxy?: string; host?: string}}>}>()
    const net = report.checks.find((c) => c.id === 'net.arm')!
    assert.equal(net.status, 'fail')
    assert.match(net.evidence[0]!, /Cannot reach the sign-in endpoint 127\.0\.0\.1:\d+ through the proxy http:\/\/127\.0\.0\.1:1: /)
    assert.equal(net.data?.proxy, 'http://127.0.0.1:1')
    assert.equal(report.checks.find((c) => c.id === 'app.exists')!.status, 'skip')
    count('check with ARM unreachable through a dead proxy: net.arm failed (host, cause, proxy), app checks skipped')
  })

  it('SIGINT during create --create-namespace leaves nothing a rerun cannot finish', async () => {
    emulator.setFaults('arm.latency=400ms')
    const args = ['create', 'cut', '--namespace', 'cut-relay', '-g', 'relay', '--endpoint', 'db12.corp:1433', '--create-namespace', '--json']
    const first = startCli(args, env)
    // Interrupt once the emulator has seen the first write (the namespace PUT).
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (emulator.armRequests().some((x) => x.method === 'PUT')) {
          clearInterval(timer)
          resolve()
        }
      }, 20)
      void first.exited.then(() => {
        clearInterval(timer)
        reject(new Error(`create ended before its first write:\n${first.stderr()}`))
      })
    })
    const stopped = await first.stop('SIGINT')
    assert.equal(stopped.code, 130, first.stderr())
    const ns = () => emulator.state.data.namespaces.filter((n) => n.name === 'cut-relay')
    const found = `namespace ${ns().length ? 'present' : 'missing'}, HC ${ns()[0]?.hybridConnections.some((h) => h.name === 'cut') ? 'present' : 'missing'}`
    emulator.setFaults('reset')
    const rerun = await runCli(args, {env, timeoutMs: 60_000})
    assert.equal(rerun.code, 0, rerun.stderr)
    const steps = rerun.json<{steps: Array<{resource: string; status: string}>}>().steps
    assert.equal(ns().length, 1, 'one namespace')
    const hcs = ns()[0]!.hybridConnections.filter((h) => h.name === 'cut')
    assert.equal(hcs.length, 1, 'one hybrid connection')
    assert.deepEqual(
      hcs[0]!.rules.map((r) => r.name).sort(),
      ['defaultListener', 'defaultSender'],
    )
    const did = steps.map((s) => `${s.status} ${s.resource}`).join(', ')
    count(`arm SIGINT in create --create-namespace: exit 130; rerun found ${found}; rerun: ${did}; exit 0, 0 duplicates`)
  })
})
