import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'prisma/generated/', 'web/dist/', 'tests/artifacts/', '.parley/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read the environment only in a config module (config.ts / *.config.ts).' },
      ],
    },
  },
  // Imports flow one way: web → the API's contracts; api → the worker's contracts (and the crypto
  // and metrics listener both processes share); the worker → nothing above it.
  {
    files: ['worker/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '/(api|web)/src/', message: 'The worker imports nothing from the API or the dashboard.' }] }],
    },
  },
  {
    files: ['api/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '/web/src/', message: 'The API imports nothing from the dashboard.' },
            {
              regex: '/worker/src/(?!contracts/|crypto/|metrics/metrics-http-server\\.js$)',
              message: "The API imports only the worker's contracts (and the shared crypto and metrics listener), never its internals.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ['web/src/**/*.ts', 'web/src/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '/(api/src|prisma)/', message: 'The dashboard talks to the API over HTTP only.' },
            { regex: '/worker/src/(?!contracts/)', message: "The dashboard imports only the worker's contracts." },
          ],
        },
      ],
    },
  },
  {
    files: ['**/config.ts', '**/*.config.ts', 'tests/support/test-env.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
