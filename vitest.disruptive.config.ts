import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * Tests that stop or cut shared local services (RabbitMQ restarts): run after the main suite, one
 * file at a time, so no other test meets the outage they cause.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['**/*.disruptive.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    fileParallelism: false,
    // Restarting RabbitMQ takes seconds on an idle machine and much longer on a busy one.
    testTimeout: 180_000,
  },
});
