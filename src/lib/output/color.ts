import {Chalk, type ChalkInstance} from 'chalk'

/**
 * A chalk instance that honours NO_COLOR (chalk 5 does not by itself) and FORCE_COLOR, and is
 * off when the stream is not a TTY.
 */
export function colorFor(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  return new Chalk({level: colorLevel(stream, env)})
}

export function colorLevel(stream: {isTTY?: boolean}, env: NodeJS.ProcessEnv = process.env): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0
  const force = env.FORCE_COLOR
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0
    const n = Number(force)
    return n >= 1 && n <= 3 ? (n as 1 | 2 | 3) : 1
  }
  return stream.isTTY ? 1 : 0
}
