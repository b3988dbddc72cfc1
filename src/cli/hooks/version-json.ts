import {release} from 'node:os'

import type {Hook} from '@oclif/core'

/** What `hcctl --version --json` prints: the facts a bug report needs. */
export interface VersionInfo {
  name: string
  version: string
  node: string
  platform: NodeJS.Platform
  arch: string
  osRelease: string
  /** The plain `--version` line, as oclif prints it. */
  userAgent: string
}

export function versionInfo(config: {name: string; version: string; userAgent: string}): VersionInfo {
  return {
    name: config.name,
    version: config.version,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    osRelease: release(),
    userAgent: config.userAgent,
  }
}

/**
 * `hcctl --version --json`. oclif answers `--version` itself, right after the init hooks, with
 * one line (`hcctl/0.1.0 linux-x64 node-v20.20.2`); under `--json` this hook answers first, with
 * the JSON object, and ends the process once stdout has taken it. `--version` alone is unchanged.
 */
const hook: Hook.Init = async function (options) {
  if (options.id !== '--version' || !options.argv.includes('--json')) return
  const text = `${JSON.stringify(versionInfo(options.config), null, 2)}\n`
  await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()))
  process.exit(0)
}

export default hook
