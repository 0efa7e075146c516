import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // TypeScript checks names; the core rule does not know Node's globals in plain .mjs files.
      'no-undef': 'off',
      'no-console': 'off',
    },
  },
  {
    // The worker and daemon bundles carry the shared kernel and the agent's schemas into every pod: zod/mini only,
    // imported as a namespace so the bundler keeps just the functions used (docs/adr/0007).
    files: ['src/**/*.ts', 'worker/**/*.ts', 'daemon/**/*.ts', 'checks/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'zod', message: "Agent-side code uses zod/mini (import * as z from 'zod/mini'), see docs/adr/0007." }],
      }],
      'no-restricted-syntax': ['error', {
        selector: "ImportDeclaration[source.value='zod/mini'] > ImportSpecifier[imported.name='z']",
        message: "Import the namespace (import * as z from 'zod/mini'): a named z import keeps all of zod in the bundle.",
      }],
    },
  },
  {
    // Plain JavaScript (build script, fixture workers): syntax rules only, no type information.
    ...tseslint.configs.disableTypeChecked,
    files: ['**/*.js', '**/*.mjs'],
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
