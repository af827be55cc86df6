// Lint enforces the import direction the design depends on:
// - libs never import services (services compose libs, never the reverse);
// - the verification path (merkle, checkpoint, wire, client) uses no Node built-ins
//   so that a browser can verify proofs with exactly the code the servers use.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const serviceImports = ['@cairn/ingest', '@cairn/shard', '@cairn/proof', '**/services/**'];
const nodeBuiltins = ['node:*', ...builtinModules, ...builtinModules.map((m) => `${m}/*`)];
const browserSafeSources = [
  'libs/merkle/src/**',
  'libs/checkpoint/src/**',
  'libs/wire/src/**',
  'libs/client/src/verify/**',
  // The SDK itself runs in browsers too (docs/design/client.md); only its ./node subpath and the
  // auditor (which keeps its state in a file) are Node-only.
  'libs/client/src/*.ts',
];
const nodeOnlyClientSources = ['libs/client/src/audit.ts'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tools/**', '.data/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports; index.ts lists them.' },
      ],
    },
  },
  {
    // Tree indexes and sizes reach 2^53-1; JavaScript's bitwise operators truncate to 32 bits.
    files: ['libs/merkle/src/**'],
    rules: { 'no-bitwise': 'error' },
  },
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: serviceImports, message: 'libs never import services.' }] }],
    },
  },
  {
    files: browserSafeSources,
    ignores: nodeOnlyClientSources,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: serviceImports, message: 'libs never import services.' },
            { group: nodeBuiltins, message: 'The verification path runs in a browser: no Node built-ins.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: 'Use Uint8Array: this code runs in a browser.' },
        { name: 'process', message: 'No process in browser-safe code.' },
        { name: 'require', message: 'ESM only.' },
      ],
    },
  },
);
