import {execute} from '@oclif/core'

/**
 * The CLI's entry point (bin/run.js imports the bundle built from this file). `dir` is the
 * bin script's URL: oclif finds package.json, the manifest and the plugins from there.
 */
export async function run(dir: string): Promise<void> {
  await execute({dir})
}
