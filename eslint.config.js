// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';
import layers from './eslint-layers.js';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', '**/__generated__/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Configuration is parsed once per process, in its env.ts.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: "Read configuration in the process's env.ts only." },
      ],
    },
  },
  {
    files: ['**/env.ts', 'bench/**', 'scripts/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    plugins: { layers },
    rules: {
      'layers/no-layer-crossing': 'error',
      'layers/no-foreign-table': 'error',
      'layers/no-import-cycle': 'error',
    },
  },
);
