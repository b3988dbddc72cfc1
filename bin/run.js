#!/usr/bin/env node
// `hcctl --version` alone is answered without loading oclif, with the line oclif prints
// (scripts call it often; it needs nothing but package.json).
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const {readFileSync} = await import('node:fs')
  const {name, version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`${name}/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  // Source maps cost start-up time, so they are on only when a stack trace may be printed.
  if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true)
  const {run} = await import('../dist/cli.js')
  await run(import.meta.url)
}
