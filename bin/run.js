#!/usr/bin/env node
// Source maps cost start-up time, so they are on only when a stack trace may be printed.
if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true)

const {run} = await import('../dist/cli.js')
await run(import.meta.url)
