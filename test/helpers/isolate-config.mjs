// Loaded by mocha (.mocharc.json `require`) before any test: every test process, and every
// process it spawns, gets a config folder of its own, so no test reads or writes the
// developer's ~/.hcctl (the token cache lives there). runCli gives each run a fresh one too.
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

process.env.HCCTL_CONFIG_DIR = mkdtempSync(join(tmpdir(), 'hcctl-test-config-'))
