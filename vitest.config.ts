import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Node resolves `graphql` to its CommonJS build for us and for Apollo alike; Vite would pick the
  // ESM build for our code, and two copies of graphql fail each other's instanceof checks.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['**/*.test.ts'],
    // *.disruptive.test.ts stop shared services: they run on their own (vitest.disruptive.config.ts).
    exclude: ['node_modules/**', 'dist/**', '**/*.disruptive.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Two cores: two files at a time; each file gets its own database.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
