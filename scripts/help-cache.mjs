#!/usr/bin/env node
// Writes dist/help.json: the help text oclif prints, for the root, every command and every
// topic, rendered by oclif itself as it renders into a pipe (80 columns, no colour). bin/run.js
// answers `hcctl [WORDS] --help`, `-h` and `hcctl help [WORDS]` from it when stdout is not a
// terminal, without loading oclif (the scripted case, where start-up time adds up). In a
// terminal (its own width, a user theme) oclif renders as before.
//
// The text holds one machine-dependent value, the user agent line of the root help
// (`hcctl/0.1.0 linux-x64 node-v20…`); it is stored as {{userAgent}} and filled in at run time.
//
//   node scripts/help-cache.mjs       (npm run build runs it after `oclif manifest`)
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {format} from 'node:util'

// As in a pipe: oclif reads OCLIF_COLUMNS when it loads; no theme, no forced colour.
process.env.OCLIF_COLUMNS = '80'
process.env.HCCTL_DISABLE_THEME = '1'
process.env.FORCE_COLOR = '0'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const {Config, loadHelpClass} = await import('@oclif/core')

const config = await Config.load(ROOT)
const Help = await loadHelpClass(config)

/** Runs oclif's help for argv and returns what it printed. */
async function render(argv) {
  const lines = []
  const log = console.log
  console.log = (...args) => lines.push(format(...args))
  try {
    await new Help(config, config.pjson.oclif.helpOptions ?? config.pjson.helpOptions).showHelp(argv)
  } finally {
    console.log = log
  }
  return `${lines.join('\n')}\n`.replaceAll(config.userAgent, '{{userAgent}}')
}

const ids = ['', ...config.commands.map((c) => c.id), ...config.topics.map((t) => t.name)]
const entries = {}
for (const id of [...new Set(ids)].sort()) entries[id] = await render(id === '' ? [] : id.split(':'))

writeFileSync(join(ROOT, 'dist', 'help.json'), `${JSON.stringify({entries})}\n`)
