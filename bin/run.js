#!/usr/bin/env node
// Two answers that scripts ask for often are given without loading oclif:
//  * `hcctl --version`, the line oclif prints (it needs nothing but package.json);
//  * help (`hcctl [WORDS] --help`, `-h`, `hcctl help [WORDS]`) into a pipe, from dist/help.json,
//    which the build renders with oclif itself for 80 columns and no colour, exactly as oclif
//    prints into a pipe (scripts/help-cache.mjs). In a terminal, or with OCLIF_COLUMNS or
//    FORCE_COLOR set, oclif renders it.
const argv = process.argv.slice(2)
if (argv.length === 1 && argv[0] === '--version') {
  const {readFileSync} = await import('node:fs')
  process.stdout.write(`${userAgent(readFileSync)}\n`)
} else if (!(await cachedHelp(argv))) {
  // Source maps cost start-up time, so they are on only when a stack trace may be printed.
  if (argv.includes('--debug')) process.setSourceMapsEnabled(true)
  const {run} = await import('../dist/cli.js')
  await run(import.meta.url)
}

function userAgent(readFileSync) {
  const {name, version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  return `${name}/${version} ${process.platform}-${process.arch} node-${process.version}`
}

/** Prints the cached help for argv and returns true, or returns false when oclif must answer. */
async function cachedHelp(argv) {
  const asked = argv[0] === 'help' || ['--help', '-h'].includes(argv.at(-1))
  const words = argv[0] === 'help' ? argv.slice(1) : argv.slice(0, -1)
  if (!asked || !words.every((w) => /^[a-z][\w-]*$/.test(w))) return false
  // (process.stdout is created on first use: other commands do not pay for it here.)
  const {FORCE_COLOR, OCLIF_COLUMNS} = process.env
  if (process.stdout.isTTY || OCLIF_COLUMNS || ![undefined, '0', 'false'].includes(FORCE_COLOR)) return false
  const {readFileSync} = await import('node:fs')
  let entries
  try {
    ;({entries} = JSON.parse(readFileSync(new URL('../dist/help.json', import.meta.url), 'utf8')))
  } catch {
    return false
  }
  const text = Object.hasOwn(entries, words.join(':')) ? entries[words.join(':')] : undefined
  if (text === undefined) return false
  process.stdout.write(text.replaceAll('{{userAgent}}', userAgent(readFileSync)))
  return true
}
