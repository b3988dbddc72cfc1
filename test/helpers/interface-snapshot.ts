// The command-line interface as data: every command, its args and flags (what they are, not
// their help text), and the shape of its `--json` result, read from the TypeScript type its
// run() returns. test/unit/cli/interface.test.ts compares it with test/snapshots/interface.json,
// so an unintended change to a command, a flag or a JSON key fails CI. After an intended one:
//
//   npm run snapshot:interface        (rewrites test/snapshots/interface.json; review the diff)
import {readdirSync, writeFileSync} from 'node:fs'
import {join, relative, sep} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import ts from 'typescript'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const COMMANDS = join(ROOT, 'src', 'commands')
export const SNAPSHOT_FILE = join(ROOT, 'test', 'snapshots', 'interface.json')

type Shape = string | Shape[] | {[key: string]: Shape}

export interface FlagSnapshot {
  type: string
  char?: string
  required?: boolean
  multiple?: boolean
  env?: string
  options?: readonly string[]
  default?: unknown
  exclusive?: string[]
  dependsOn?: string[]
}

export interface CommandSnapshot {
  args: Record<string, {required: boolean}>
  flags: Record<string, FlagSnapshot>
  json: boolean
  result: Shape
}

function commandFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return commandFiles(path)
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : []
  })
}

function commandId(file: string): string {
  return relative(COMMANDS, file)
    .replace(/\.ts$/, '')
    .split(sep)
    .filter((part, i, all) => !(part === 'index' && i === all.length - 1))
    .join(':')
}

/** What oclif's flag objects carry that the snapshot keeps (the same fields). */
type FlagLike = FlagSnapshot

function flagSnapshot(f: FlagLike): FlagSnapshot {
  const out: FlagSnapshot = {type: f.type}
  if (f.char) out.char = f.char
  if (f.required) out.required = true
  if (f.multiple) out.multiple = true
  if (f.env) out.env = f.env
  if (f.options) out.options = f.options
  if (f.default !== undefined && typeof f.default !== 'function') out.default = f.default
  if (f.exclusive?.length) out.exclusive = f.exclusive
  if (f.dependsOn?.length) out.dependsOn = f.dependsOn
  return out
}

/** The shape of a type: objects by key (`key?` when optional), arrays as [element], the rest as TypeScript prints it. */
function shapeOf(checker: ts.TypeChecker, type: ts.Type, depth: number): Shape {
  const print = () => checker.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope)
  if (depth > 5) return print()
  if (type.isUnion()) {
    const members = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)))
    const objects = members.filter((t) => t.flags & ts.TypeFlags.Object && !checker.isArrayType(t))
    if (objects.length > 1) return {oneOf: objects.map((t) => shapeOf(checker, t, depth + 1))}
    if (members.length === 1) return shapeOf(checker, members[0]!, depth)
    // literal unions by their members ('app' | 'plan' | ...), so that a new or dropped value shows
    return members.map((t) => checker.typeToString(t)).join(' | ')
  }
  if (checker.isArrayType(type)) {
    const [element] = checker.getTypeArguments(type as ts.TypeReference)
    return element ? [shapeOf(checker, element, depth + 1)] : print()
  }
  if (type.flags & ts.TypeFlags.Object) {
    const props = checker.getPropertiesOfType(type)
    if (props.length === 0) return print()
    const out: Record<string, Shape> = {}
    for (const p of props) {
      const decl = p.valueDeclaration ?? p.declarations?.[0]
      if (!decl) continue
      const optional = (p.flags & ts.SymbolFlags.Optional) !== 0
      out[optional ? `${p.name}?` : p.name] = shapeOf(checker, checker.getTypeOfSymbolAtLocation(p, decl), depth + 1)
    }
    return out
  }
  return print()
}

/** The `--json` result shape of each command file, from its run() return type (Promise unwrapped). */
function resultShapes(files: string[]): Map<string, Shape> {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (p) => ts.sys.readFile(p))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT)
  const program = ts.createProgram(files, {...parsed.options, noEmit: true})
  const checker = program.getTypeChecker()
  const shapes = new Map<string, Shape>()
  for (const file of files) {
    const source = program.getSourceFile(file)!
    let shape: Shape = 'void'
    source.forEachChild((node) => {
      if (!ts.isClassDeclaration(node) || !node.modifiers?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) return
      const run = node.members.find((m): m is ts.MethodDeclaration => ts.isMethodDeclaration(m) && m.name.getText(source) === 'run')
      if (!run) return
      const signature = checker.getSignatureFromDeclaration(run)!
      const returned = checker.getReturnTypeOfSignature(signature)
      shape = shapeOf(checker, checker.getAwaitedType(returned) ?? returned, 0)
    })
    shapes.set(file, shape)
  }
  return shapes
}

export async function interfaceSnapshot(): Promise<Record<string, CommandSnapshot>> {
  const files = commandFiles(COMMANDS).sort()
  const shapes = resultShapes(files)
  const out: Record<string, CommandSnapshot> = {}
  for (const file of files) {
    const {default: command} = (await import(pathToFileURL(file).href)) as {
      default: {flags?: Record<string, FlagLike>; baseFlags?: Record<string, FlagLike>; args?: Record<string, {required?: boolean}>; enableJsonFlag?: boolean}
    }
    const flags = {...command.baseFlags, ...command.flags}
    out[commandId(file)] = {
      args: Object.fromEntries(Object.entries(command.args ?? {}).map(([name, a]) => [name, {required: Boolean(a.required)}])),
      flags: Object.fromEntries(
        Object.keys(flags)
          .sort()
          .map((name) => [name, flagSnapshot(flags[name]!)]),
      ),
      json: Boolean(command.enableJsonFlag),
      result: shapes.get(file)!,
    }
  }
  return out
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv.includes('--update')) {
  writeFileSync(SNAPSHOT_FILE, JSON.stringify(await interfaceSnapshot(), null, 2) + '\n')
  console.log(`wrote ${relative(ROOT, SNAPSHOT_FILE)}`)
}
