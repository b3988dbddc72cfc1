import {strict as assert} from 'node:assert'

import {runCli} from '../helpers/cli.js'

describe('cli contract (real process)', () => {
  it('--help lists the topics', async () => {
    const r = await runCli(['--help'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /TOPICS/)
    assert.match(r.stdout, /cloud/)
  })

  it('an unknown flag is a usage error (exit 2), also under --json with the JSON error shape', async () => {
    const plain = await runCli(['cloud', 'list', '--bogus'])
    assert.equal(plain.code, 2)
    assert.match(plain.stderr, /Nonexistent flag: --bogus/)
    assert.doesNotMatch(plain.stderr, /at .*\.js:\d+/, 'no stack trace')

    const json = await runCli(['cloud', 'list', '--bogus', '--json'])
    assert.equal(json.code, 2)
    const body = json.json<{error: {code: string; exitCode: number; message: string}}>()
    assert.equal(body.error.code, 'UsageError')
    assert.equal(body.error.exitCode, 2)
  })

  it('--query applies JMESPath and implies JSON', async () => {
    const r = await runCli(['cloud', 'list', '--query', 'clouds[?active].name | [0]'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json(), 'AzureCloud')
  })

  it('a broken --query is a usage error', async () => {
    const r = await runCli(['cloud', 'list', '--query', 'clouds[?'])
    assert.equal(r.code, 2)
    assert.match(r.stdout, /InvalidQuery/)
  })

  it('HCCTL_CLOUD selects the cloud; an unknown one is exit 2 naming the choices', async () => {
    const ok = await runCli(['cloud', 'list', '--json'], {env: {HCCTL_CLOUD: 'azureusgovernment'}})
    assert.equal(ok.code, 0, ok.stderr)
    const active = ok.json<{clouds: Array<{name: string; active: boolean}>}>().clouds.filter((c) => c.active)
    assert.deepEqual(active.map((c) => c.name), ['AzureUSGovernment'])

    const bad = await runCli(['cloud', 'list'], {env: {HCCTL_CLOUD: 'nope'}})
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /Unknown cloud "nope"/)
    assert.match(bad.stderr, /AzureChinaCloud/)
  })

  it('--debug prints a stack trace that names the TypeScript sources (the bundle has source maps)', async () => {
    const r = await runCli(['token', '--decode', '--access-token', 'opaque-not-a-jwt', '--debug'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /at .*src\/lib\/azure\/token\.ts:\d+:\d+/)
    const plain = await runCli(['token', '--decode', '--access-token', 'opaque-not-a-jwt'])
    assert.doesNotMatch(plain.stderr, /\bat /, 'no stack trace without --debug')
  })

  it('--version prints the same line with and without the fast path in bin/run.js', async () => {
    const fast = await runCli(['--version'])
    const viaOclif = await runCli(['--version', '--verbose']) // more than one argument: oclif answers
    assert.equal(fast.code, 0)
    assert.match(fast.stdout, /^hcctl\/\d+\.\d+\.\d+\S* \S+-\S+ node-v\d+\.\d+\.\d+\n$/)
    assert.equal(viaOclif.stdout, fast.stdout)
  })
})
