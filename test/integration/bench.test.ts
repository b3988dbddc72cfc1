import {strict as assert} from 'node:assert'
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const BENCH = fileURLToPath(new URL('../../bench/run.mjs', import.meta.url))

interface Results {
  node: string
  cpus: number
  date: string
  quick: boolean
  sections: {
    'start-up': {vsNode: Record<string, number>}
    arm: {vsNode: Record<string, number>; az: string}
    scale: {listRequests: number; perApp: {requests: number; apps: number; attachments: number}}
    tunnels: {ratios: {throughputVsTcp: number; p50VsTcp: number}; setup: {relay: {perSecond: number}}; agent: {rssMiBIdleTunnels?: number}}
  }
}

// The one test of the benchmarks: every section runs, tiny, so that `npm run bench` cannot rot.
// It asserts that each figure was measured, never how fast anything was.
describe('npm run bench (smoke: every benchmark, tiny)', function () {
  this.timeout(300_000)

  it('runs every section and writes results.json with the figures, Node version, CPU count and date', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hcctl-bench-smoke-')), 'results.json')
    const child = spawn(process.execPath, [BENCH, '--quick', '--out', out], {stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
    const [code] = (await once(child, 'close')) as [number | null]
    assert.equal(code, 0, output)
    const r = JSON.parse(readFileSync(out, 'utf8')) as Results
    assert.equal(r.node, process.version)
    assert.ok(r.cpus >= 1 && r.quick && !Number.isNaN(Date.parse(r.date)))
    const s = r.sections
    for (const name of ['hcctl --version', 'hcctl --help', 'hcctl --help (oclif renders)', 'hcctl tcpping --help']) assert.ok(s['start-up'].vsNode[name]! > 0, name)
    for (const name of ['list --app', 'show', 'arm get']) {
      for (const kind of ['cold', 'warm']) assert.ok(s.arm.vsNode[`hcctl ${name} (${kind})`]! > 0, `${name} ${kind}`)
    }
    assert.ok(s.arm.az === 'measured' || s.arm.az.length > 0, 'the az row is measured or says why not')
    assert.ok(s.scale.listRequests > 0 && s.scale.perApp.requests > s.scale.perApp.apps)
    assert.ok(s.scale.perApp.attachments > 0)
    assert.ok(s.tunnels.ratios.throughputVsTcp > 0 && s.tunnels.ratios.p50VsTcp > 0)
    assert.ok(s.tunnels.setup.relay.perSecond > 0)
    assert.match(output, /start-up[\s\S]*one ARM command[\s\S]*subscription scale[\s\S]*Tunnel benchmark/)
  })
})
