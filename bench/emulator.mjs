#!/usr/bin/env node
// The emulator for the benchmarks, in a process of its own (so the benchmark's timing loop never
// competes with it), counting the ARM requests it answers.
//
//   node bench/emulator.mjs SEED.json
// prints one JSON line when ready: {profilePath, caPath, armUrl, subscriptionId, tenantId, principal};
// then reads commands on stdin, one per line: `count` prints {"arm": N} (ARM requests since the
// last count) and `stop` stops it.
import {readFileSync} from 'node:fs'
import {createInterface} from 'node:readline'

const {startEmulator} = await import('../dist/emulator/index.js')

let arm = 0
const em = await startEmulator({
  inMemory: true,
  seed: JSON.parse(readFileSync(process.argv[2], 'utf8')),
  log: (line) => {
    if (line.startsWith('ARM ')) arm++
  },
})
const {clientId, clientSecret} = em.principals.contributor
console.log(JSON.stringify({profilePath: em.profilePath, caPath: em.caPath, armUrl: em.armUrl, subscriptionId: em.subscriptionId, tenantId: em.tenantId, principal: {clientId, clientSecret}}))

for await (const line of createInterface({input: process.stdin})) {
  if (line.trim() === 'count') {
    console.log(JSON.stringify({arm}))
    arm = 0
  } else if (line.trim() === 'stop') {
    break
  }
}
await em.stop()
