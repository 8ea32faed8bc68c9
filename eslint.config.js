// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', 'build/**', 'scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
    },
  },
  {
    // In tests a wrong non-null assertion fails the test, which is what we want.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // API tests read JSON responses: asserting on parsed bodies is the point, so `any` is allowed there.
    files: ['test/server/**/*.ts', 'test/helpers/server.ts', 'test/browser/**/*.ts', 'test/reliability/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    // The web app and its build configuration are typed by tsconfig.app.json (DOM, JSX, bundler resolution).
    files: ['app/**/*.{ts,tsx}', 'vite.config.ts', 'react-router.config.ts'],
    languageOptions: {
      parserOptions: { projectService: false, project: ['./tsconfig.app.json'], tsconfigRootDir: import.meta.dirname },
    },
    // Loaders throw React Router's `data(...)` responses for HTTP errors (404), by design.
    rules: { '@typescript-eslint/only-throw-error': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
