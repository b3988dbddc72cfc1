/**
 * Generates docs/commands.md, the command reference, from the oclif manifest (the commands'
 * own summaries, descriptions, arguments, flags and examples), so the reference cannot drift
 * from the help. `npm run docs:commands` rewrites it; test/integration/docs/reference.test.ts
 * fails when it is out of date.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

interface ManifestFlag {
  name: string
  char?: string
  description?: string
  type: 'option' | 'boolean'
  required?: boolean
  multiple?: boolean
  options?: string[]
  default?: unknown
  env?: string
  helpGroup?: string
  exclusive?: string[]
  dependsOn?: string[]
  hidden?: boolean
  allowNo?: boolean
}

interface ManifestCommand {
  id: string
  summary?: string
  description?: string
  examples?: Array<string | {command: string; description?: string}>
  args: Record<string, {name: string; description?: string; required?: boolean}>
  flags: Record<string, ManifestFlag>
  hidden?: boolean
  enableJsonFlag?: boolean
}

export interface Manifest {
  commands: Record<string, ManifestCommand>
}

export const EXIT_CODES: Array<[number, string]> = [
  [0, 'success'],
  [1, 'unexpected error (a bug, or an unexpected remote answer)'],
  [2, 'usage error: a bad flag, file, resource id, connection string or query'],
  [3, 'a check or probe ran and failed'],
  [4, 'not found'],
  [5, 'authentication failed or permission denied'],
  [6, 'conflict, or a limit reached'],
]

const BIN = 'hcctl'

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n+/g, ' ')
}

function flagName(f: ManifestFlag): string {
  const value = f.type === 'option' ? ` ${f.name.toUpperCase().replace(/-/g, '_')}` : ''
  return `${f.char ? `-${f.char}, ` : ''}--${f.allowNo ? '[no-]' : ''}${f.name}${value}`
}

function flagNotes(f: ManifestFlag): string {
  const notes: string[] = []
  if (f.required) notes.push('required')
  if (f.multiple) notes.push('repeatable')
  if (f.options?.length) notes.push(`one of: ${f.options.map((o) => `\`${o}\``).join(', ')}`)
  if (f.default !== undefined && f.default !== false) notes.push(`default: \`${String(f.default)}\``)
  if (f.env) notes.push(`env: \`${f.env}\``)
  if (f.exclusive?.length) notes.push(`not with ${f.exclusive.map((e) => `--${e}`).join(', ')}`)
  if (f.dependsOn?.length) notes.push(`needs ${f.dependsOn.map((e) => `--${e}`).join(', ')}`)
  return notes.join('; ')
}

/** Lines indented by two spaces in a description (a file format, say) become a code block. */
function fenceIndented(text: string): string {
  const out: string[] = []
  let inBlock = false
  for (const line of text.split('\n')) {
    const indented = /^ {2}/.test(line) && line.trim() !== ''
    if (indented !== inBlock) {
      if (indented) out.push('```yaml')
      else out.push('```')
      inBlock = indented
    }
    out.push(indented ? line.slice(2) : line)
  }
  if (inBlock) out.push('```')
  return out.join('\n')
}

function anchor(id: string): string {
  return `${BIN}-${id.replace(/:/g, '-')}`
}

function usage(c: ManifestCommand): string {
  const words = c.id.split(':').join(' ')
  const args = Object.values(c.args).map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`))
  return `${BIN} ${words}${args.length ? ` ${args.join(' ')}` : ''} [FLAGS]`
}

function renderCommand(c: ManifestCommand): string {
  const out: string[] = [`## ${BIN} ${c.id.split(':').join(' ')}`, '']
  if (c.summary) out.push(c.summary, '')
  out.push('```', usage(c), '```', '')
  const args = Object.values(c.args)
  if (args.length) {
    out.push('| argument | description |', '|---|---|')
    for (const a of args) out.push(`| \`${a.name.toUpperCase()}\` | ${cell(`${a.required ? '(required) ' : ''}${a.description ?? ''}`)} |`)
    out.push('')
  }
  const flags = Object.values(c.flags).filter((f) => !f.hidden)
  const own = flags.filter((f) => f.helpGroup !== 'GLOBAL')
  const global = flags.filter((f) => f.helpGroup === 'GLOBAL')
  if (own.length) {
    out.push('| flag | description | notes |', '|---|---|---|')
    for (const f of own) out.push(`| \`${flagName(f)}\` | ${cell(f.description ?? '')} | ${cell(flagNotes(f))} |`)
    out.push('')
  }
  if (global.length) out.push(`Global flags: ${global.map((f) => `\`--${f.name}\``).join(', ')} ([conventions](#conventions)).`, '')
  if (c.description) out.push(fenceIndented(c.description.trim()), '')
  const examples = (c.examples ?? []).map((e) => (typeof e === 'string' ? e : e.command).replace(/<%= config\.bin %>/g, BIN))
  if (examples.length) out.push('Examples:', '', '```sh', ...examples, '```', '')
  return out.join('\n')
}

/** The whole reference, deterministic for one manifest (commands sorted by id). */
export function renderCommandsMarkdown(manifest: Manifest): string {
  const commands = Object.values(manifest.commands)
    .filter((c) => !c.hidden)
    .sort((a, b) => a.id.localeCompare(b.id))
  const lines = [
    '# Command reference',
    '',
    '<!-- Generated from the commands by `npm run docs:commands` (scripts/commands-md.ts). Do not edit by hand:',
    '     change the command\'s summary, description, flags or examples, then regenerate. -->',
    '',
    'Every command also prints this with `hcctl COMMAND --help` (or `-h`).',
    '',
    '## Conventions',
    '',
    '* `--json` prints the result as one JSON object on stdout; `--query EXPR` applies a JMESPath',
    '  expression to it (and implies JSON). With `--json`, an error is also one JSON object on',
    '  stdout, `{"error": {"name", "code", "message", "suggestions", "exitCode"}}`, and nothing',
    '  is written to stderr; the exit code is the one below.',
    '* `--verbose` logs requests and decisions to stderr (secrets redacted); `--debug` adds stack traces.',
    '',
    '| exit code | meaning |',
    '|---|---|',
    ...EXIT_CODES.map(([code, meaning]) => `| ${code} | ${meaning} |`),
    '',
    '## Commands',
    '',
    ...commands.map((c) => `* [\`${BIN} ${c.id.split(':').join(' ')}\`](#${anchor(c.id)}): ${cell(c.summary ?? '')}`),
    '',
    ...commands.map(renderCommand),
  ]
  return lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n'
}

export const MANIFEST_PATH = fileURLToPath(new URL('../oclif.manifest.json', import.meta.url))
export const COMMANDS_MD_PATH = fileURLToPath(new URL('../docs/commands.md', import.meta.url))

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as Manifest
  writeFileSync(COMMANDS_MD_PATH, renderCommandsMarkdown(manifest))
  console.log(`wrote ${COMMANDS_MD_PATH} (${Object.keys(manifest.commands).length} commands)`)
}
