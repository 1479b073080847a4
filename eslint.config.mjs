// ESLint (no separate formatter): type-aware rules where they catch real bugs (floating promises in Koa handlers and
// the CLI), plus the small set of style rules the code follows.
import tseslint from 'typescript-eslint';

/**
 * Globs for a relative import of the directory `dir` or anything under it, at any depth (`./dir`, `../../dir/x`):
 * `.*` is the leading `.` or `..` segment and `**` the segments between, so package paths such as
 * `kubernetes-models/apps/v1` stay allowed. no-restricted-imports matches them with gitignore semantics (`ignore`),
 * case-insensitively.
 */
const relativeImportsOf = (...dirs) => dirs.flatMap(dir => [`.*/**/${dir}`, `.*/**/${dir}/**`]);

/** Manifests never import service code: the demo's facts they need live on their side (apps/contract.ts is the services'). */
const NO_SERVICE_CODE = {
  group: relativeImportsOf('apps'),
  message: 'manifest code (lib/, main.ts, scripts/) must not import apps/; keep the fact it needs under lib/',
};

/** Constructs are leaves: they take what they need as props, never from config, charts, services, rollout or delivery. */
const CONSTRUCT_LAYERS = {
  group: relativeImportsOf('config', 'charts', 'services', 'rollout', 'delivery'),
  message: 'constructs must not import config, charts, services, rollout or delivery; take the value as a prop instead',
};

/** Services never import constructs, or anything else of the manifests. */
const NO_MANIFEST_CODE = {
  group: relativeImportsOf('lib'),
  message: 'services (apps/) must not import lib/; keep what they share in apps/shared/ or apps/contract.ts',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/', 'dist/', 'build/', 'cdk8s.out/', 'imports/', 'lib/*/generated/*.cjs', 'coverage/', 'test-results/', 'playwright-report/',
      // sources that break the architecture rules on purpose: tests/architecture.test.ts lints them as lib/ and apps/ files
      'tests/fixtures/architecture/',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-shadow': 'off',
      '@typescript-eslint/no-shadow': 'error',
      quotes: ['error', 'single', { avoidEscape: true }],
      'comma-dangle': ['error', 'always-multiline'],
      'max-len': ['error', { code: 150, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true }],
      semi: ['error', 'always'],
      'no-console': 'off',
      // each makes a directory in the system's temporary directory that nothing removes (tests/support/chart.ts: testApp)
      'no-restricted-properties': ['error',
        { object: 'Testing', property: 'app', message: 'use testApp() from tests/support/chart.ts' },
        { object: 'Testing', property: 'chart', message: 'use testChart() or new Chart(testApp(), …) from tests/support/chart.ts' }],
    },
  },
  // architecture: later objects replace the rule's options for the files they match, so the constructs' entry
  // repeats NO_SERVICE_CODE (tests/architecture.test.ts checks each rule on fixtures)
  { files: ['lib/**', 'main.ts', 'scripts/**'], rules: { 'no-restricted-imports': ['error', { patterns: [NO_SERVICE_CODE] }] } },
  { files: ['lib/constructs/**'], rules: { 'no-restricted-imports': ['error', { patterns: [NO_SERVICE_CODE, CONSTRUCT_LAYERS] }] } },
  { files: ['apps/**'], rules: { 'no-restricted-imports': ['error', { patterns: [NO_MANIFEST_CODE] }] } },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
