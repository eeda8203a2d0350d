import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';

const require = createRequire(import.meta.url);

/**
 * A Redis connection, ioredis loaded on the first one: a process without REDIS_URL (the embedded
 * default) never loads it, which keeps it out of `npm start`'s module loading.
 */
export function newRedis(url: string, options: IORedis.RedisOptions): IORedis.Redis {
  const { Redis } = require('ioredis') as typeof IORedis;
  return new Redis(url, options);
}
