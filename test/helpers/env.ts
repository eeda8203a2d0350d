/** The one place the test process reads process.env. */
export const testEnv = {
  /** Passed on to the processes tests start. */
  path: process.env.PATH ?? '',
  /** A PostgreSQL role that may create databases; tests make one database per test file. */
  adminDatabaseUrl: process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  amqpUrl: process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  /**
   * Set TEST_S3_ENDPOINT (with TEST_S3_ACCESS_KEY_ID and TEST_S3_SECRET_ACCESS_KEY) to run the
   * object-store contract tests against that S3 service too (MinIO in CI), besides s3rver.
   */
  s3: process.env.TEST_S3_ENDPOINT
    ? {
        endpoint: process.env.TEST_S3_ENDPOINT,
        accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? '',
        secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? '',
      }
    : undefined,
  /** Set to run the document-store contract tests against MongoDB too. */
  mongoUrl: process.env.MONGO_URL,
  /** Name of the migrated template database; set it to run two test runs on one server at once. */
  templateDatabase: process.env.TEST_TEMPLATE_DATABASE ?? 'ai_code_test_template',
  /** The fuzz suite's seed (test/fuzz/), to replay a failure or explore other inputs. */
  fuzzSeed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined,
  /** Runs of the fuzz suite's main property (the others run a quarter as many). */
  fuzzRuns: process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : undefined,
  logLevel: (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent' | 'info' | 'debug' | 'error' | 'warn',
};
