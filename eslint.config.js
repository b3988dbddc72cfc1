// Flat ESLint config: typescript-eslint's recommended rules over src, test and bench.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const LIB_WIDE = [
  {group: ['@oclif/*'], message: 'src/lib knows nothing of oclif: return values or throw typed errors.'},
  {group: ['**/commands/**', '**/emulator/**', '**/cli/**'], message: 'Arrows point down only: lib never imports commands, cli or the emulator.'},
]
const FLOORS = ['output', 'azure', 'relay', 'hybrid', 'diagnose']

function libFloors() {
  const root = {files: ['src/lib/*.ts', 'src/lib/tls/**/*.ts'], rules: {'no-restricted-imports': ['error', {patterns: LIB_WIDE}]}}
  return [
    root,
    ...FLOORS.map((floor, i) => {
      const above = FLOORS.slice(i + 1)
      const patterns = above.length === 0 ? LIB_WIDE : [
        ...LIB_WIDE,
        {group: above.map((a) => `**/lib/${a}/**`).concat(above.map((a) => `../${a}/**`), above.map((a) => `../../${a}/**`)), message: `src/lib/${floor} sits below ${above.join(', ')}: floors are ${FLOORS.join(' < ')}.`},
      ]
      return {files: [`src/lib/${floor}/**/*.ts`], rules: {'no-restricted-imports': ['error', {patterns}]}}
    }),
  ]
}

export default tseslint.config(
  {ignores: ['dist/**', 'dist-check/**', 'coverage/**', 'node_modules/**', 'test/stubs/**', '.state/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      '@typescript-eslint/consistent-type-imports': ['error', {prefer: 'type-imports', fixStyle: 'inline-type-imports'}],
      'no-console': 'error',
    },
  },
  // Floors inside src/lib: output < azure < relay < hybrid < diagnose; a folder imports only the
  // ones below it (the data plane knows nothing of provisioning). Flat config replaces a rule's
  // options per block, so each floor repeats the lib-wide patterns.
  ...libFloors(),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'bin/**/*.js', 'bench/**/*.mjs', 'scripts/**/*.ts'],
    rules: {'no-console': 'off', '@typescript-eslint/no-unused-expressions': 'off'},
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {globals: {process: 'readonly', console: 'readonly', URL: 'readonly'}},
  },
)
