// The hcctl library: everything a command does, usable without oclif.
export * from './lib/errors.js'
export * from './lib/azure/clouds.js'
export {applyQuery} from './lib/output/query.js'
export {redactText, redactValue} from './lib/output/redact.js'
