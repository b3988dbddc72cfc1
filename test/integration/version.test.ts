import {strict as assert} from 'node:assert'
import {readFileSync} from 'node:fs'

import type {VersionInfo} from '../../src/cli/hooks/version-json.js'
import {runCli} from '../helpers/cli.js'

const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}

describe('hcctl --version (real process)', function () {
  this.timeout(30_000)

  it('prints the one version line; --json prints version, Node and platform instead, and nothing else', async () => {
    const plain = await runCli(['--version'])
    assert.equal(plain.code, 0, plain.stderr)
    assert.equal(plain.stdout, `hcctl/${PKG.version} ${process.platform}-${process.arch} node-${process.version}\n`)
    const json = await runCli(['--version', '--json'])
    assert.equal(json.code, 0, json.stderr)
    assert.equal(json.stderr, '')
    assert.deepEqual(json.json<VersionInfo>(), {
      name: 'hcctl',
      version: PKG.version,
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      osRelease: json.json<VersionInfo>().osRelease,
      userAgent: plain.stdout.trim(),
    })
    assert.match(json.json<VersionInfo>().osRelease, /\S/)
  })
})
