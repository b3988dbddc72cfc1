/**
 * The characters of the pictures (hop chain, histogram): Unicode on a UTF-8 terminal, plain
 * ASCII otherwise. The locale decides as the C library does: the first of LC_ALL, LC_CTYPE and
 * LANG that is set; none set means the C locale (ASCII), except on Windows, whose terminals
 * render Unicode through Node without a locale.
 */
export interface Glyphs {
  unicode: boolean
  arrow: string
  pass: string
  warn: string
  fail: string
  skip: string
  /** Full bar cell, and the partial cells from 1/8 to 7/8 (empty in ASCII). */
  bar: string
  partial: string[]
}

export const UNICODE_GLYPHS: Glyphs = {unicode: true, arrow: '→', pass: '✓', warn: '!', fail: '✗', skip: '?', bar: '█', partial: ['▏', '▎', '▍', '▌', '▋', '▊', '▉']}
export const ASCII_GLYPHS: Glyphs = {unicode: false, arrow: '->', pass: 'ok', warn: '!', fail: 'X', skip: '?', bar: '#', partial: []}

export function utf8Locale(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  const locale = [env.LC_ALL, env.LC_CTYPE, env.LANG].find((v) => v !== undefined && v !== '')
  if (locale === undefined) return platform === 'win32'
  return /utf-?8/i.test(locale)
}

export function glyphsFor(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Glyphs {
  return utf8Locale(env, platform) ? UNICODE_GLYPHS : ASCII_GLYPHS
}
