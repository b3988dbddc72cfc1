import {strict as assert} from 'node:assert'

import type {DemoResult} from '../../src/demo/demo.js'
import {runCli} from '../helpers/cli.js'

describe('hcctl demo (real process, everything on loopback)', function () {
  this.timeout(120_000)

  it('runs the whole job: create, diagnose, agent, forward, a real round trip, check', async () => {
    const r = await runCli(['demo', '--json'], {timeoutMs: 110_000})
    assert.equal(r.code, 0, `stderr:\n${r.stderr}\nstdout:\n${r.stdout}`)
    const result = r.json<DemoResult>()
    assert.equal(result.ok, true)
    // The call went app → relay → agent → the on-premises stand-in and came back with its answer.
    assert.equal(result.roundTrip?.status, 200)
    assert.deepEqual(result.roundTrip?.body, {sku: 'sku-42', inStock: 17, warehouse: 'on-premises'})
    // The diagnosis fails before the agent runs and passes after.
    const checks = result.steps.filter((s) => s.command.startsWith('hcctl check'))
    assert.deepEqual(checks.map((s) => s.exitCode), [3, 0])
    // A clean run: the endpoint is a name the agent resolves, so the final check warns about
    // nothing but redundancy (the demo runs one agent).
    const warnings = [...new Set(checks[1]!.output.split('\n').filter((l) => /^! \S/.test(l)).map((l) => l.split(/[\s(:]+/)[1]))]
    assert.deepEqual(warnings, ['listener.redundancy'], checks[1]!.output)
    assert.doesNotMatch(result.steps[0]!.output + checks[1]!.output, /! config\.endpoint-host|is localhost/)
    // No secret reaches the output: not the gateway connection string, not a key.
    assert.doesNotMatch(r.stdout + r.stderr, /SharedAccessKey=(?!\*\*\*)/)
    assert.doesNotMatch(r.stdout + r.stderr, /sig=(?!\*\*\*)[A-Za-z0-9%]/)
  })
})
