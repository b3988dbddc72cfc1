// Flat ESLint config: typescript-eslint's recommended rules over src, test and bench.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

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
  {
    files: ['src/lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {patterns: [
        {group: ['@oclif/*'], message: 'src/lib knows nothing of oclif: return values or throw typed errors.'},
        {group: ['**/commands/**', '**/emulator/**'], message: 'Arrows point down only: lib never imports commands or the emulator.'},
      ]}],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'bin/**/*.js', 'bench/**/*.mjs', 'scripts/**/*.ts'],
    rules: {'no-console': 'off', '@typescript-eslint/no-unused-expressions': 'off'},
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {globals: {process: 'readonly', console: 'readonly', URL: 'readonly'}},
  },
)
