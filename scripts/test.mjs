#!/usr/bin/env node
// npm test's test run (after build and lint; c8 wraps it for coverage). Two mocha runs:
//   1. the unit, integration, e2e and contract tiers in parallel, one worker per CPU (at least
//      two): their files are independent (each starts its own emulator and servers on port 0,
//      its own config folder) and mostly wait on processes and sockets;
//   2. then the reliability tier alone, one file at a time (test/reliability/.mocharc.json): its
//      load, fault and timing figures count only on a machine nothing else of ours is using.
// Exit code: the first run's failure, else the second's.
import {spawnSync} from 'node:child_process'
import {cpus} from 'node:os'

const mocha = (args) => spawnSync(process.execPath, ['node_modules/mocha/bin/mocha.js', ...args], {stdio: 'inherit'}).status ?? 1
const jobs = String(Math.max(2, cpus().length))
const tiers = ['unit', 'integration', 'e2e', 'contract'].map((tier) => `test/${tier}/**/*.test.ts`)
const first = mocha(['--parallel', '--jobs', jobs, ...tiers])
const second = mocha(['--config', 'test/reliability/.mocharc.json'])
process.exit(first || second)
