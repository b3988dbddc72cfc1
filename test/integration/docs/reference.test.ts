import {strict as assert} from 'node:assert'
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {COMMANDS_MD_PATH, type Manifest, MANIFEST_PATH, renderCommandsMarkdown} from '../../../scripts/commands-md.js'

/**
 * The docs stay true: the command reference is generated from the built commands (run
 * `npm run docs:commands` after changing a command), every relative link in the README and
 * docs/ points at a file and heading that exist, and the README shows every command.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

function markdownFiles(): string[] {
  const files = [join(ROOT, 'README.md'), join(ROOT, 'CHANGELOG.md')].filter((f) => existsSync(f))
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (name.endsWith('.md')) files.push(path)
    }
  }
  if (existsSync(join(ROOT, 'docs'))) walk(join(ROOT, 'docs'))
  return files
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!m) continue
    const base = m[1]!
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  return anchors
}

function links(markdown: string): string[] {
  const out: string[] = []
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced
    if (fenced) continue
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push(m[1]!)
  }
  return out
}

describe('docs: reference and links', function () {
  this.timeout(30_000)

  it('docs/commands.md is generated from the current commands (npm run docs:commands)', () => {
    assert.ok(existsSync(MANIFEST_PATH), 'build first: npm run build')
    const manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as Manifest
    const expected = renderCommandsMarkdown(manifest)
    const actual = existsSync(COMMANDS_MD_PATH) ? readFileSync(COMMANDS_MD_PATH, 'utf8') : ''
    assert.ok(actual === expected, 'docs/commands.md is out of date: run `npm run docs:commands` and commit it')
    // Every flag and example of every command is in it.
    for (const c of Object.values(manifest.commands)) {
      for (const f of Object.values(c.flags)) assert.ok(f.helpGroup === 'GLOBAL' || actual.includes(`--${f.name}`) || actual.includes(`--[no-]${f.name}`), `${c.id} --${f.name}`)
      for (const e of c.examples ?? []) assert.ok(actual.includes((typeof e === 'string' ? e : e.command).replace(/<%= config\.bin %>/g, 'hcctl')), `${c.id} example`)
    }
  })

  it('every relative link in README.md, CHANGELOG.md and docs/ points at an existing file and heading', () => {
    const broken: string[] = []
    for (const file of markdownFiles()) {
      const text = readFileSync(file, 'utf8')
      for (const link of links(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue // http:, https:, mailto:
        const [path, hash] = link.split('#') as [string, string | undefined]
        const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path))
        const where = `${relative(ROOT, file)}: ${link}`
        if (!existsSync(target)) {
          broken.push(`${where} (no such file)`)
          continue
        }
        if (hash && target.endsWith('.md') && !anchorsOf(readFileSync(target, 'utf8')).has(hash.toLowerCase())) broken.push(`${where} (no such heading)`)
      }
    }
    assert.deepEqual(broken, [])
  })

  it('the README shows every command at least once in a code example', () => {
    const manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as Manifest
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const code = [...readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n')
    const missing = Object.keys(manifest.commands).filter((id) => !new RegExp(`hcctl ${id.split(':').join(' ')}\\b`).test(code))
    assert.deepEqual(missing, [], 'commands without an example in the README')
  })

  it('anchors follow GitHub\'s rules', () => {
    const a = anchorsOf('# hcctl arm get\n## `hcctl arm`: raw ARM calls (the armclient replacement)\n## Exit codes\n## Exit codes\n```\n# not a heading\n```\n')
    assert.deepEqual([...a], ['hcctl-arm-get', 'hcctl-arm-raw-arm-calls-the-armclient-replacement', 'exit-codes', 'exit-codes-1'])
  })
})

describe('the README quotes the last benchmark run', () => {
  interface Results {
    date: string
    sections: {'start-up': {vsNode: Record<string, number>}; arm: {vsNode: Record<string, number>}; tunnels: {agent: {rssMiBIdleTunnels: number}}}
  }

  it('Performance names the date of bench/results.json and its figures', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Performance'), readme.indexOf('\n## ', readme.indexOf('## Performance') + 1))
    assert.ok(section.startsWith('## Performance'), 'the README has a Performance section')
    const r = JSON.parse(readFileSync(join(ROOT, 'bench', 'results.json'), 'utf8')) as Results
    const when = `${r.date.slice(0, 10)} ${r.date.slice(11, 16)} UTC`
    assert.ok(section.includes(when), `the section quotes the run of ${when} (update it with bench/results.json)`)
    const x = (n: number) => `${n.toFixed(2).replace(/0$/, '')}×`
    for (const figure of [r.sections['start-up'].vsNode['hcctl --version']!, r.sections['start-up'].vsNode['hcctl --help']!, r.sections.arm.vsNode['hcctl list --app (warm)']!]) {
      assert.ok(section.includes(x(figure)), `the section quotes ${x(figure)}`)
    }
    assert.ok(section.includes(`${Math.round(r.sections.tunnels.agent.rssMiBIdleTunnels)} MiB`))
  })
})
