import {strict as assert} from 'node:assert'
import {lookup} from 'node:dns/promises'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {parse} from 'yaml'

import {type Emulator, startEmulator} from '../../../src/emulator/index.js'
import {RUN_JS} from '../../helpers/cli.js'
import {runProgram, type RunResult} from '../../helpers/run.js'
import {type HcctlProcess, startEcho, startHcctl} from '../relay/helpers.js'

/**
 * The CI recipes in docs/ci/ run here, step by step, as the CI service would run them: each
 * `run:` (GitHub Actions) or `script:`/AzureCLI@2 `inlineScript:` (Azure Pipelines) in bash with
 * `-eo pipefail`, with the recipe's env/variables resolved to a world this test builds on the
 * emulator. Steps that `uses:` an action or a task other than AzureCLI@2 (checkout, setup-node,
 * azure/login, artifact upload) are setup and sign-in: the emulator's profile signs in instead
 * (HCCTL_CLOUD=emulator). The run steps left out are listed below with the reason, and the test
 * fails when a recipe has another one, so the recipes cannot rot.
 */

const DOCS = fileURLToPath(new URL('../../../docs/ci/', import.meta.url))

const NOT_RUN: Record<string, string> = {
  'Install hcctl': "this checkout's build is hcctl here (test/e2e/package installs the packed tarball)",
  'Run your integration tests': "the user's own tests",
}

interface Step {
  name: string
  /** The script to run, or undefined for a setup/sign-in step. */
  script?: string
  env: Record<string, string>
  always: boolean
}

/** Replaces `${{ vars.X }}`, `${{ secrets.X }}` (GitHub) or `$(X)` (Azure Pipelines) from `values`; anything unknown is an error. */
function resolve(text: string, values: Record<string, string>, file: string): string {
  const out = text
    .replace(/\$\{\{\s*(?:vars|secrets)\.([A-Za-z_][\w]*)\s*\}\}/g, (_, name: string) => {
      if (!(name in values)) throw new Error(`${file}: the test gives no value for ${name}`)
      return values[name]!
    })
    .replace(/\$\(([A-Za-z_][\w.]*)\)/g, (_, name: string) => {
      if (!(name in values)) throw new Error(`${file}: the test gives no value for $(${name})`)
      return values[name]!
    })
  if (/\$\{\{/.test(out)) throw new Error(`${file}: an expression the test cannot resolve: ${out}`)
  return out
}

function githubSteps(file: string, values: Record<string, string>): Step[] {
  const doc = parse(readFileSync(join(DOCS, file), 'utf8')) as {env?: Record<string, string>; jobs: Record<string, {env?: Record<string, string>; steps: Array<Record<string, unknown>>}>}
  const jobs = Object.values(doc.jobs)
  assert.equal(jobs.length, 1, `${file}: one job`)
  const job = jobs[0]!
  const base = Object.fromEntries(Object.entries({...doc.env, ...job.env}).map(([k, v]) => [k, resolve(String(v), values, file)]))
  return job.steps.map((s) => {
    const env = {...base, ...Object.fromEntries(Object.entries((s.env ?? {}) as Record<string, string>).map(([k, v]) => [k, resolve(String(v), values, file)]))}
    const name = String(s.name ?? s.uses)
    const always = /always\(\)/.test(String(s.if ?? ''))
    if (s.uses) return {name, env, always}
    return {name, script: resolve(String(s.run), values, file), env, always}
  })
}

function pipelineSteps(file: string, values: Record<string, string>): Step[] {
  const doc = parse(readFileSync(join(DOCS, file), 'utf8')) as {variables: Record<string, string>; steps: Array<Record<string, unknown>>}
  const vars = {...doc.variables, ...values}
  return doc.steps.map((s) => {
    const name = String(s.displayName ?? s.task ?? s.publish)
    const always = /always\(\)/.test(String(s.condition ?? ''))
    const inputs = (s.inputs ?? {}) as Record<string, string>
    if (s.script) return {name, script: resolve(String(s.script), vars, file), env: {}, always}
    if (s.task === 'AzureCLI@2') {
      assert.equal(inputs.scriptType, 'bash', `${file}: ${name} runs bash`)
      assert.ok(resolve(inputs.azureSubscription!, vars, file), `${file}: ${name} names its service connection`)
      return {name, script: resolve(inputs.inlineScript!, vars, file), env: {}, always}
    }
    return {name, env: {}, always}
  })
}

interface StepResult extends RunResult {
  name: string
}

async function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  // GitHub's `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`.
  const file = join(cwd, `.step-${Date.now()}-${Math.random().toString(36).slice(2)}.sh`)
  writeFileSync(file, script)
  try {
    return await runProgram('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {cwd, env, timeoutMs: 120_000})
  } finally {
    rmSync(file, {force: true})
  }
}

describe('the CI recipes in docs/ci/ run against the emulator (sign-in aside)', function () {
  this.timeout(300_000)
  let dir: string
  let bin: string
  const skipped = new Set<string>()

  /** The environment of a CI runner here: hcctl on PATH, nothing of the developer's Azure or hcctl settings. */
  function runnerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) if (!/^(AZURE_|HCCTL_|NO_COLOR|FORCE_COLOR|HTTPS?_PROXY|https?_proxy|NO_PROXY|no_proxy|GITHUB_|RUNNER_)/.test(k)) env[k] = v
    return {...env, NO_COLOR: '1', PATH: [bin, ...(process.env.PATH ?? '').split(delimiter)].join(delimiter), ...extra}
  }

  /** Runs the recipe's steps in order, as the CI service does: after a failure only `always()` steps. */
  async function runSteps(steps: Step[], cwd: string, env: Record<string, string>, githubEnv?: string): Promise<StepResult[]> {
    const results: StepResult[] = []
    let failed = false
    for (const step of steps) {
      if (step.script === undefined) continue
      if (NOT_RUN[step.name]) {
        skipped.add(step.name)
        continue
      }
      if (failed && !step.always) continue
      const fromGithubEnv = githubEnv && existsSync(githubEnv) ? Object.fromEntries(readFileSync(githubEnv, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) : {}
      const r = await bash(step.script, cwd, runnerEnv({...env, ...step.env, ...fromGithubEnv}))
      results.push({...r, name: step.name})
      if (r.code !== 0) failed = true
    }
    return results
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hcctl-ci-recipes-'))
    bin = join(dir, 'bin')
    mkdirSync(bin)
    writeFileSync(join(bin, 'hcctl'), `#!/bin/sh\nexec "${process.execPath}" "${RUN_JS}" "$@"\n`)
    chmodSync(join(bin, 'hcctl'), 0o755)
  })
  after(() => {
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  describe('deploy and gate (GitHub Actions with azure/login OIDC; Azure Pipelines with a service connection)', () => {
    let emu: Emulator
    let echo: Awaited<ReturnType<typeof startEcho>>
    let host: string
    const agents: HcctlProcess[] = []

    before(async function () {
      // The endpoint must be a DNS name for `check --strict`; this machine's name, when it is loopback here.
      host = hostname()
      const address = await lookup(host).catch(() => undefined)
      if (!address || !/^127\.|^::1$/.test(address.address)) {
        console.log(`      skipped: this machine's name (${host}) does not resolve to a loopback address, and the test reaches nothing else`)
        this.skip()
      }
      echo = await startEcho()
      emu = await startEmulator({
        inMemory: true,
        stateDir: join(dir, 'emulator'),
        seed: {
          resourceGroups: [{name: 'ci-rg', location: 'westeurope'}],
          plans: [{resourceGroup: 'ci-rg', name: 'ci-plan', sku: 'S1'}],
          sites: [
            {resourceGroup: 'ci-rg', name: 'ci-app-github', plan: 'ci-plan', kind: 'app'},
            {resourceGroup: 'ci-rg', name: 'ci-app-pipelines', plan: 'ci-plan', kind: 'app'},
          ],
        },
      })
    })
    afterEach(async () => {
      await Promise.all(agents.splice(0).map((a) => a.stop()))
    })
    after(async () => {
      await emu?.stop()
      echo?.close()
    })

    const recipes = [
      {
        file: 'github-actions-deploy.yml',
        steps: (hc: string) => githubSteps('github-actions-deploy.yml', {RESOURCE_GROUP: 'ci-rg', APP_NAME: 'ci-app-github', RELAY_NAMESPACE: 'ci-relay', HYBRID_CONNECTION: hc, ENDPOINT: `${host}:${echo.port}`, HCCTL_PACKAGE: 'unused', AZURE_CLIENT_ID: 'unused', AZURE_TENANT_ID: 'unused', AZURE_SUBSCRIPTION_ID: 'unused'}),
        hc: 'inventory-github',
        report: (cwd: string) => join(cwd, 'check.json'),
      },
      {
        file: 'azure-pipelines.yml',
        steps: (hc: string, cwd: string) => pipelineSteps('azure-pipelines.yml', {resourceGroup: 'ci-rg', app: 'ci-app-pipelines', relayNamespace: 'ci-relay', hybridConnection: hc, endpoint: `${host}:${echo.port}`, 'Build.ArtifactStagingDirectory': cwd}),
        hc: 'inventory-pipelines',
        report: (cwd: string) => join(cwd, 'check.json'),
      },
    ]

    for (const recipe of recipes) {
      it(`${recipe.file}: the deploy step creates and attaches; the gate fails (exit 3) until two agents serve the endpoint, then passes`, async () => {
        const cwd = mkdtempSync(join(dir, 'work-'))
        const env = {HCCTL_CLOUD: 'emulator', HCCTL_EMULATOR_STATE: emu.stateDir}
        const steps = recipe.steps(recipe.hc, cwd)
        const gate = steps.filter((s) => s.script?.includes('hcctl check'))
        assert.equal(gate.length, 1, 'one gate step')
        const gateIndex = steps.indexOf(gate[0]!)

        // Deploy, then the gate with no agent anywhere: the pipeline stops here.
        const first = await runSteps(steps, cwd, env)
        const deploy = first.find((r) => r.name.startsWith('Deploy'))!
        assert.equal(deploy.code, 0, `deploy step failed:\n${deploy.stderr}`)
        const refused = first.find((r) => r.name === gate[0]!.name)!
        assert.equal(refused.code, 3, `the gate should fail without an agent:\n${refused.stderr}`)
        const before = JSON.parse(readFileSync(recipe.report(cwd), 'utf8')) as {checks: Array<{id: string; status: string}>}
        assert.ok(before.checks.some((c) => c.id === 'listener.connected' && c.status === 'fail'), JSON.stringify(before.checks))
        const app = emu.state.data.sites.find((s) => s.name.startsWith('ci-app') && s.hybridConnections.some((h) => h.relayName === recipe.hc))
        assert.ok(app, 'the app has the hybrid connection')

        // The on-premises side. One agent: the round trip works, but no redundancy is a warning, and warnings fail the gate (--strict).
        const startAgent = async () => {
          const agent = startHcctl(['agent', recipe.hc, '--namespace', 'ci-relay', '-g', 'ci-rg', '--cloud', emu.profilePath])
          agents.push(agent)
          await agent.waitFor(new RegExp(` listening hc=ci-relay/${recipe.hc} `), 30_000)
        }
        await startAgent()
        const strict = (await runSteps(steps.slice(gateIndex), cwd, env)).find((r) => r.name === gate[0]!.name)!
        assert.equal(strict.code, 3, `with one agent the strict gate should fail:\n${strict.stderr}`)
        const warned = JSON.parse(readFileSync(recipe.report(cwd), 'utf8')) as {checks: Array<{id: string; status: string}>}
        assert.deepEqual(warned.checks.filter((c) => c.status !== 'pass' && c.status !== 'skip').map((c) => `${c.id}:${c.status}`), ['listener.redundancy:warn'])
        // Two agents: every hop passes.
        await startAgent()
        const again = await runSteps(steps.slice(gateIndex), cwd, env)
        const passed = again.find((r) => r.name === gate[0]!.name)!
        assert.equal(passed.code, 0, `the gate should pass:\n${passed.stderr}\n${readFileSync(recipe.report(cwd), 'utf8')}`)
        const report = JSON.parse(readFileSync(recipe.report(cwd), 'utf8')) as {checks: Array<{id: string; status: string}>}
        assert.deepEqual(report.checks.filter((c) => c.status === 'fail' || c.status === 'warn'), [])
      })
    }
  })

  describe('the emulator for your own integration tests (GitHub Actions)', () => {
    it('github-actions-emulator.yml: starts the emulator in the background, waits for its ready line, exports the profile, and stops it', async () => {
      const cwd = mkdtempSync(join(dir, 'work-'))
      const runnerTemp = mkdtempSync(join(dir, 'runner-temp-'))
      const githubEnv = join(runnerTemp, 'github-env')
      writeFileSync(githubEnv, '')
      const steps = githubSteps('github-actions-emulator.yml', {HCCTL_PACKAGE: 'unused'})
      const results = await runSteps(steps, cwd, {RUNNER_TEMP: runnerTemp, GITHUB_ENV: githubEnv}, githubEnv)
      try {
        for (const r of results) assert.equal(r.code, 0, `step "${r.name}" failed:\n${r.stderr}\n${r.stdout}`)
        const start = results.find((r) => r.name.startsWith('Start'))!
        assert.match(start.stdout, /^emulator ready: arm=https:\/\/127\.0\.0\.1:\d+ relay=wss:\/\/127\.0\.0\.1:\d+ state=/m)
        const exported = readFileSync(githubEnv, 'utf8')
        assert.match(exported, /^HCCTL_CLOUD=emulator$/m)
        assert.match(exported, /^EMULATOR_ARM_URL=https:\/\/127\.0\.0\.1:\d+$/m)
        const answers = results.find((r) => r.name === 'The emulator answers')!
        const listed = JSON.parse(answers.stdout.slice(answers.stdout.indexOf('{'))) as unknown
        assert.match(JSON.stringify(listed), /demo-hc/)
        assert.deepEqual(results.map((r) => r.name), ['Start the emulator in the background', 'The emulator answers', 'Stop the emulator'])
      } finally {
        // Whatever happened, no emulator is left running.
        await bash('hcctl emulator stop >/dev/null 2>&1 || true', cwd, runnerEnv({HCCTL_EMULATOR_STATE: join(runnerTemp, 'hcctl-emulator')}))
      }
    })
  })

  describe('what the test leaves out', () => {
    it('leaves out only the steps it says why it leaves out', () => {
      assert.deepEqual([...skipped].sort(), Object.keys(NOT_RUN).sort())
    })
  })
})
