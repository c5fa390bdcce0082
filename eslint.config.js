import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import layers from './scripts/eslint-layers.js'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'drizzle/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // docs/design.md, Layout: imports run down the layers, and files stay small.
    files: ['src/**/*.ts'],
    plugins: { layers },
    rules: {
      'layers/one-way': 'error',
      // Code lines: a public facade's docstrings are its API reference, and counting them would push it to split by page length, not by job.
      'max-lines': ['error', { max: 350, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // The dashboard's script runs in the browser, as a classic script; uPlot is its one global.
    files: ['src/server/dashboard/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'sessionStorage', 'fetch', 'setTimeout', 'clearTimeout', 'uPlot'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['bin/**/*.js', 'bench/**/*.js', 'bench/**/*.mjs', 'scripts/**/*.mjs', 'scripts/**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', global: 'readonly', URL: 'readonly' },
    },
  },
)
