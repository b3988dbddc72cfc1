import {fileURLToPath} from 'node:url'

import {execute, Plugin} from '@oclif/core'

/**
 * The CLI's entry point (bin/run.js imports the bundle built from this file). `dir` is the
 * bin script's URL: oclif finds package.json, the manifest and the plugins from there.
 *
 * oclif loads every core plugin (help, autocomplete: their package.json and manifests) before
 * it runs any command. When argv names one of our own commands and asks for no help, the
 * plugins have nothing to add, so oclif is given our plugin alone (about 14 ms of every
 * command). Help, the plugins' commands and anything unknown get oclif's full load.
 */
export async function run(dir: string): Promise<void> {
  const argv = process.argv.slice(2)
  const root = fileURLToPath(dir)
  const own = await ownCommandPlugin(root, argv)
  await execute(own ? {args: argv, loadOptions: {root, plugins: new Map([[own.name, own]])}} : {dir})
}

/** Our plugin, loaded, when argv runs one of its commands without asking for help. */
async function ownCommandPlugin(root: string, argv: string[]): Promise<Plugin | undefined> {
  if (argv.includes('--help') || argv.includes('-h')) return undefined
  const end = argv.findIndex((a) => a.startsWith('-'))
  const words = end === -1 ? argv : argv.slice(0, end)
  if (words.length === 0) return undefined
  const plugin = new Plugin({isRoot: true, root})
  await plugin.load()
  const ids = new Set(plugin.commands.map((c) => c.id))
  for (let n = words.length; n > 0; n--) if (ids.has(words.slice(0, n).join(':'))) return plugin
  return undefined
}
