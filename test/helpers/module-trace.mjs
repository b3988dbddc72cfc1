// Preload with `node --import ./test/helpers/module-trace.mjs`: records every ESM module URL
// resolved (including `await import()` of packages) to the file named by HCCTL_TRACE_FILE.
import {register} from 'node:module'

register('./module-trace-hooks.mjs', import.meta.url, {data: {file: process.env.HCCTL_TRACE_FILE}})
