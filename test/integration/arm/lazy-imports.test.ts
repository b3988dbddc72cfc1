import {strict as assert} from 'node:assert'
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startEmulator} from '../../../src/emulator/index.js'
import {TokenCache} from '../../../src/lib/azure/token-cache.js'
import {RUN_JS} from '../../helpers/cli.js'

const TRACE = fileURLToPath(new URL('../../helpers/module-trace.mjs', import.meta.url))
const HEAVY = ['@azure/identity', '@azure/arm-relay', '@azure/msal-node', 'axios', '/ws/', '@peculiar/x509', '/ora/', 'https-proxy-agent']

/** Runs the built CLI with a loader hook that records every module it resolves. */
async function modulesLoadedBy(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{code: number | null; modules: string[]}> {
  const dir = mkdtempSync(join(tmpdir(), 'hcctl-trace-'))
  const file = join(dir, 'modules.txt')
  writeFileSync(file, '')
  const child = spawn(process.execPath, ['--import', TRACE, RUN_JS, ...args], {
    env: {PATH: process.env.PATH, HOME: dir, NO_COLOR: '1', HCCTL_TRACE_FILE: file, ...env},
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const [code] = (await once(child, 'close')) as [number | null]
  return {code, modules: readFileSync(file, 'utf8').split('\n').filter(Boolean)}
}

const heavyIn = (modules: string[]) => HEAVY.filter((h) => modules.some((m) => m.includes(`/node_modules/${h.replace(/^\//, '')}`)))

describe('start-up stays light: heavy modules load only where they are used', function () {
  this.timeout(30_000)

  for (const args of [['--version'], ['--help'], ['arm', '--help'], ['arm', 'get', '--help'], ['token', '--help']]) {
    it(`hcctl ${args.join(' ')} loads none of ${HEAVY.join(', ')}`, async () => {
      // A set width makes oclif render help (into a pipe, bin/run.js answers from its cache).
      const {code, modules} = await modulesLoadedBy(args, {OCLIF_COLUMNS: '100'})
      assert.equal(code, 0)
      assert.ok(modules.some((m) => m.endsWith('/bin/run.js')), 'the trace works')
      assert.deepEqual(heavyIn(modules), [])
    })
  }

  it('hcctl --version and help into a pipe load no code from dist or node_modules at all (bin/run.js answers them)', async () => {
    for (const args of [['--version'], ['--help'], ['tcpping', '--help'], ['help', 'keys', 'rotate']]) {
      const {code, modules} = await modulesLoadedBy(args)
      assert.equal(code, 0)
      const files = [...new Set(modules.filter((m) => m.startsWith('file:')))]
      assert.deepEqual(files.filter((m) => !m.endsWith('/bin/run.js')), [], args.join(' '))
    }
  })

  it('help that oclif renders (a set width here) loads the CLI from a few bundled files, nothing from node_modules', async () => {
    for (const args of [['--help'], ['tcpping', '--help']]) {
      const {code, modules} = await modulesLoadedBy(args, {OCLIF_COLUMNS: '100'})
      assert.equal(code, 0)
      const files = [...new Set(modules.filter((m) => m.startsWith('file:')))]
      assert.deepEqual(files.filter((m) => m.includes('/node_modules/')), [], args.join(' '))
      // esbuild gives each small module that a command shares with a lazily imported one a chunk
      // of its own: a command reads its bundle and up to about twenty such chunks (17 for
      // tcpping --help today), never the hundreds of files of an unbundled build.
      const dist = files.filter((m) => m.includes('/dist/'))
      assert.ok(dist.some((m) => m.endsWith('/dist/cli.js')), 'oclif rendered it')
      assert.ok(dist.length <= 20, `${args.join(' ')} loaded ${dist.length} files of dist: ${dist.join(', ')}`)
    }
  })

  it('hcctl token --access-token needs no @azure/identity and no axios', async () => {
    const {code, modules} = await modulesLoadedBy(['token', '--access-token', 'opaque'])
    assert.equal(code, 0)
    assert.deepEqual(heavyIn(modules), [])
  })

  it('a token from the token cache needs no @azure/identity (no sign-in at all)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcctl-trace-cache-'))
    const profile = join(dir, 'p.json')
    const arm = 'https://127.0.0.1:9'
    writeFileSync(profile, JSON.stringify({name: 'traced', armEndpoint: arm, authorityHost: arm, defaults: {tenantId: 't', clientId: 'c', clientSecret: 's'}}))
    new TokenCache(join(dir, 'config', 'token-cache.json')).set(
      {cloud: `traced ${arm}`, authority: arm, tenant: 't', source: 'client:c', scope: `${arm}/.default`},
      {token: 'cached-token', expiresOnTimestamp: Date.now() + 3600_000},
    )
    const {code, modules} = await modulesLoadedBy(['token', '--cloud', profile], {HCCTL_CONFIG_DIR: join(dir, 'config')})
    assert.equal(code, 0)
    assert.deepEqual(heavyIn(modules), [])
  })

  it('an ARM call with a given token loads none of them; a sign-in loads @azure/identity (the trace sees lazy imports)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hcctl-trace-cloud-'))
    const profile = join(dir, 'p.json')
    writeFileSync(profile, JSON.stringify({armEndpoint: 'https://127.0.0.1:9'}))
    const call = await modulesLoadedBy(['arm', 'get', '/subscriptions/s?api-version=2022-09-01', '--cloud', profile], {HCCTL_ACCESS_TOKEN: 'opaque', HCCTL_MAX_RETRIES: '0'})
    assert.equal(call.code, 1, 'nothing listens on port 9')
    assert.ok(call.modules.includes('node:https'), 'the request was sent')
    assert.deepEqual(heavyIn(call.modules), [])
    const signIn = await modulesLoadedBy(['arm', 'get', '/subscriptions/s?api-version=2022-09-01', '--cloud', profile], {HCCTL_MAX_RETRIES: '0', AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential'})
    assert.equal(signIn.code, 5)
    const heavy = heavyIn(signIn.modules)
    assert.ok(heavy.includes('@azure/identity'), heavy.join())
    for (const h of ['@azure/arm-relay', '/ws/', '@peculiar/x509']) assert.ok(!heavy.includes(h), h)
  })
  it('list --app and show read the Relay side with plain ARM calls: no @azure/arm-relay, no SDK core (a given token: nothing heavy at all)', async () => {
    const em = await startEmulator({
      inMemory: true,
      seed: {
        resourceGroups: [{name: 'rg'}],
        plans: [{resourceGroup: 'rg', name: 'plan', sku: 'S1'}],
        sites: [{resourceGroup: 'rg', name: 'app', plan: 'plan'}],
        namespaces: [{resourceGroup: 'rg', name: 'lazy-relay', hybridConnections: [{name: 'hc', endpoint: 'db:1433', defaultRules: true}]}],
        attachments: [{resourceGroup: 'rg', site: 'app', namespace: 'lazy-relay', hybridConnection: 'hc'}],
      },
    })
    try {
      const {token} = em.tokens.issue({principal: em.state.data.principals.contributor, audience: em.profile.armAudience})
      const env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: em.stateDir, HCCTL_ACCESS_TOKEN: token, AZURE_SUBSCRIPTION_ID: em.subscriptionId}
      for (const args of [['list', '--app', 'app', '-g', 'rg', '--json'], ['show', 'hc', '--namespace', 'lazy-relay', '-g', 'rg', '--json']]) {
        const {code, modules} = await modulesLoadedBy(args, env)
        assert.equal(code, 0, args.join(' '))
        assert.deepEqual(heavyIn(modules), [], args.join(' '))
        assert.deepEqual(modules.filter((m) => m.includes('/node_modules/@azure/')), [], args.join(' '))
      }
    } finally {
      await em.stop()
    }
  })
})
