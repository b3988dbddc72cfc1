#!/usr/bin/env node
// Builds dist/ as a few bundled files (esbuild) instead of one file per module, so that a
// command loads a handful of files rather than hundreds:
//
//   dist/cli.js             bin/run.js's entry: oclif (@oclif/core bundled in) and execute()
//   dist/commands.js        every command class, for oclif's `explicit` command strategy
//   dist/index.js           the library (`import ... from 'hcctl'`)
//   dist/emulator/index.js  the emulator (`import ... from 'hcctl/emulator'`)
//   dist/cli/hooks/*.js     oclif's init (--version --json) and command_not_found hooks
//   dist/chunks/*.js        code shared by those, and each `await import()` kept lazy
//   dist/**/*.d.ts          type declarations (tsc, which also type-checks)
//
// Heavy dependencies (@azure/*, axios, ws, ...) stay external and are still imported only
// where they are used; @oclif/core is bundled because every invocation loads it and its ~100
// CommonJS files are most of the start-up cost. Source maps are written beside each file;
// bin/run.js turns them on for --debug.
//
//   node scripts/build.mjs            (npm run build: this, then `oclif manifest`)
import {execFileSync} from 'node:child_process'
import {readdirSync, rmSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

import * as esbuild from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DIST = join(ROOT, 'dist')
const COMMANDS_DIR = join(ROOT, 'src', 'commands')

/** Packages bundled into dist: light ones that most commands load (everything else is imported from node_modules at run time). */
const BUNDLED = /^(@oclif\/core|chalk|cli-table3|jmespath)(\/|$)/
/** Optional development-time imports inside @oclif/core that a built CLI never reaches. */
const NEVER = new Set(['typescript', 'ts-node', 'tsx', 'pnpapi'])

function commandFiles(dir) {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return commandFiles(path)
    return /\.ts$/.test(e.name) && !/\.d\.ts$/.test(e.name) ? [path] : []
  })
}

/** `src/commands/arm/get.ts` → `arm:get`; `foo/index.ts` → `foo`. */
export function commandId(file) {
  return relative(COMMANDS_DIR, file)
    .replace(/\.ts$/, '')
    .split(sep)
    .filter((part, i, all) => !(part === 'index' && i === all.length - 1))
    .join(':')
}

function commandsModule() {
  const files = commandFiles(COMMANDS_DIR).sort()
  const imports = files.map((f, i) => `import C${i} from ${JSON.stringify(`./${relative(ROOT, f).split(sep).join('/')}`)}`)
  const entries = files.map((f, i) => `  ${JSON.stringify(commandId(f))}: C${i},`)
  return `${imports.join('\n')}\n\n/** Every command, by id (oclif's explicit strategy reads this). */\nexport default {\n${entries.join('\n')}\n}\n`
}

const plugin = {
  name: 'hcctl',
  setup(build) {
    build.onResolve({filter: /^hcctl:commands$/}, () => ({path: 'commands', namespace: 'hcctl'}))
    build.onLoad({filter: /.*/, namespace: 'hcctl'}, () => ({contents: commandsModule(), resolveDir: ROOT, loader: 'ts'}))
    // oclif's logger makes a `debug` logger per namespace at start-up; loading `debug` (with
    // supports-color and tty) costs every command a few ms although it prints only with DEBUG
    // set. This stand-in loads the real one only then.
    build.onResolve({filter: /^debug$/}, (args) => (args.importer.includes(`${sep}@oclif${sep}core${sep}`) ? {path: 'debug', namespace: 'hcctl-debug'} : undefined))
    build.onLoad({filter: /.*/, namespace: 'hcctl-debug'}, () => ({
      contents: `module.exports = process.env.DEBUG ? require(${JSON.stringify(join(ROOT, 'node_modules', 'debug', 'src', 'index.js'))}) : () => Object.assign(() => {}, {enabled: false})`,
      resolveDir: ROOT,
      loader: 'js',
    }))
    // oclif's index checks @oclif/core's own engines field with semver at load; in a bundle it
    // cannot find that package.json (no __dirname in ESM) and ignores the error, so semver was
    // loaded for nothing. Our engines field is npm's to enforce.
    build.onResolve({filter: /^semver$/}, (args) => (args.importer.endsWith(`${sep}@oclif${sep}core${sep}lib${sep}index.js`) ? {path: 'semver', namespace: 'hcctl-semver'} : undefined))
    build.onLoad({filter: /.*/, namespace: 'hcctl-semver'}, () => ({contents: 'module.exports = {satisfies: () => true}', loader: 'js'}))
    // oclif matches the names in package.json's `oclif.plugins` against our dependencies with
    // minimatch at every start (names may be globs): ~40 kB to compile and a Minimatch object per
    // name and pattern, ~7 ms of each command. Ours are plain names; this stand-in matches them,
    // and `*` / `?` globs should one appear.
    build.onResolve({filter: /^minimatch$/}, (args) => (args.importer.endsWith(`${sep}config${sep}plugin-loader.js`) ? {path: 'minimatch', namespace: 'hcctl-minimatch'} : undefined))
    build.onLoad({filter: /.*/, namespace: 'hcctl-minimatch'}, () => ({
      contents: "const glob = (p) => new RegExp('^' + p.replace(/[.+^${}()|[\\]\\\\]/g, '\\\\$&').replace(/\\*/g, '[^/]*').replace(/\\?/g, '[^/]') + '$')\nmodule.exports = {minimatch: (name, pattern) => glob(pattern).test(name)}",
      loader: 'js',
    }))
    // oclif's plugin.js loads tinyglobby (and with it fdir and picomatch) at start to find
    // commands by file pattern, which the `explicit` strategy never does: bundled as before, but
    // evaluated on the first glob only.
    build.onResolve({filter: /^tinyglobby$/}, (args) => (args.importer.endsWith(`${sep}config${sep}plugin.js`) ? {path: 'tinyglobby', namespace: 'hcctl-lazy-glob'} : undefined))
    build.onLoad({filter: /.*/, namespace: 'hcctl-lazy-glob'}, () => ({
      contents: `module.exports = {glob: (...args) => require(${JSON.stringify(createRequire(join(ROOT, 'node_modules', '@oclif', 'core', 'package.json')).resolve('tinyglobby'))}).glob(...args)}`,
      resolveDir: ROOT,
      loader: 'js',
    }))
    build.onResolve({filter: /^[^./]/}, (args) => {
      if (args.kind === 'entry-point') return undefined
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0]
      if (NEVER.has(name)) return {path: args.path, external: true}
      if (BUNDLED.test(args.path)) return undefined
      // Dependencies of a bundled package are bundled with it; our own imports of packages stay external.
      if (args.importer.includes(`${sep}node_modules${sep}`)) return undefined
      return {path: args.path, external: true}
    })
  },
}

rmSync(DIST, {recursive: true, force: true})
execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--emitDeclarationOnly'], {stdio: 'inherit'})

const common = {
  absWorkingDir: ROOT,
  outdir: DIST,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  sourcesContent: false,
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  // Bundled CommonJS (@oclif/core) calls require(): give ESM chunks one.
  banner: {js: "import {createRequire as __hcctlRequire} from 'node:module';const require=__hcctlRequire(import.meta.url);"},
  plugins: [plugin],
}

await esbuild.build({
  ...common,
  entryPoints: {
    cli: 'src/cli/run.ts',
    commands: 'hcctl:commands',
    // oclif loads hooks by path: the init hook answers --version --json, the other unknown commands.
    'cli/hooks/version-json': 'src/cli/hooks/version-json.ts',
    'cli/hooks/command-not-found': 'src/cli/hooks/command-not-found.ts',
    index: 'src/index.ts',
    'emulator/index': 'src/emulator/index.ts',
  },
  chunkNames: 'chunks/[name]-[hash]',
})
