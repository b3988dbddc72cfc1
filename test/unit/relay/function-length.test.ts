import {strict as assert} from 'node:assert'
import {readdirSync, readFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

import ts from 'typescript'

/**
 * Code shape (issue 13 §3): protocol code is small state machines, not one long closure. No
 * function, method or function-valued initialiser in the folders below may span more than
 * MAX_LINES lines, anywhere in src.
 */
const MAX_LINES = 150
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const FOLDERS = ['src']

function tsFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return tsFiles(path)
    return e.name.endsWith('.ts') ? [path] : []
  })
}

/** Every function-like node longer than `max` lines, as `file:line name (n lines)`. */
export function longFunctions(file: string, max: number): string[] {
  const text = readFileSync(file, 'utf8')
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const out: string[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line
      const lines = end - start + 1
      if (lines > max) {
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : ts.isVariableDeclaration(node.parent) && ts.isIdentifier(node.parent.name) ? node.parent.name.text : '(anonymous)'
        out.push(`${relative(ROOT, file)}:${start + 1} ${name} (${lines} lines)`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return out
}

describe('code shape: function length', () => {
  it(`no function in ${FOLDERS.join(', ')} is longer than ${MAX_LINES} lines`, () => {
    const long = FOLDERS.flatMap((f) => tsFiles(join(ROOT, f))).flatMap((file) => longFunctions(file, MAX_LINES))
    assert.deepEqual(long, [], `split these into smaller functions or a state machine:\n${long.join('\n')}`)
  })

  it('the scanner finds a long function (so the check above can fail)', () => {
    const file = join(ROOT, 'src/emulator/relay/broker.ts')
    assert.ok(longFunctions(file, 20).some((l) => / createRelayBroker \(\d+ lines\)$/.test(l)), 'createRelayBroker is longer than 20 lines')
  })
})
