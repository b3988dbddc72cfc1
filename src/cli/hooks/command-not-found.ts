import type {Hook} from '@oclif/core'

import {UsageError} from '../../lib/errors.js'
import {renderError} from '../base-command.js'

/**
 * An unknown command is a usage error (exit 2), with the nearest command as a suggestion, in
 * the same shape as every other error (also under --json). It replaces @oclif/plugin-not-found,
 * which exits 127 and, on a terminal, asks a question a script cannot answer.
 */
const hook: Hook<'command_not_found'> = async function (options) {
  const separator = options.config.topicSeparator ?? ' '
  const shown = (id: string) => id.replaceAll(':', separator)
  const ids = options.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases])
  const nearest = closest(options.id, ids)
  const bin = options.config.bin
  const error = new UsageError(`"${shown(options.id)}" is not a ${bin} command.`, {
    code: 'CommandNotFound',
    suggestions: [...(nearest ? [`Did you mean \`${bin} ${shown(nearest)}\`?`] : []), `Run \`${bin} help\` for the list of commands.`],
  })
  const argv = options.argv ?? []
  const end = argv.indexOf('--')
  const flags = end === -1 ? argv : argv.slice(0, end)
  renderError(error, {json: flags.includes('--json') || flags.some((a) => a === '--query' || a.startsWith('--query='))})
  process.exitCode = error.exitCode
}

/** The command id nearest to `id` by edit distance, when it is near enough to be a typo. */
export function closest(id: string, ids: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of ids) {
    const d = distance(id.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(id.length / 2)) ? best : undefined
}

function distance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

export default hook
