/**
 * The load generator of bench/predict, a process of its own (forked by index.ts with an IPC
 * channel), so that neither the platform's event loop nor the floor's carries it. A closed loop:
 * `concurrency` loops each send their next predict when the last is answered; a warm-up whose
 * figures are dropped, then the measurement. Every request is a distinct input (inputRow(first + i)),
 * and every answer is compared with the exact one (expectedRow): any difference is a mismatch.
 *   BENCH_PREDICT_LOAD = JSON LoadRequest; messages: { type: 'measuring' }, then { type: 'done', result }
 */
import { Pool } from 'undici';
import { closedLoop, type LoopResult } from '../hotpath/load.js';
import { PREDICT, expectedRow, inputRow } from './model.js';

export type LoadRequest = {
  /** 'floor': POST {x} to the floor; 'graphql': the predict mutation through the platform's /graphql (or a GraphQL floor). */
  kind: 'floor' | 'graphql';
  url: string;
  accessToken?: string;
  modelId?: string;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  /** The first input row's number; the runner gives every run its own range. */
  first: number;
};

export type LoadMessage =
  | { type: 'measuring' }
  | { type: 'done'; result: LoopResult & { mismatches: number; requestsSent: number; answeredInWarmup: number } };

class Mismatch extends Error {}

async function main(request: LoadRequest): Promise<void> {
  const { origin, pathname } = new URL(request.url);
  const pool = new Pool(origin, { connections: request.concurrency, pipelining: 1 });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(request.accessToken ? { authorization: `Bearer ${request.accessToken}` } : {}),
  };
  let next = request.first;
  let mismatches = 0;
  const operation = async () => {
    const n = next++;
    const x = [inputRow(n)];
    const body =
      request.kind === 'floor'
        ? JSON.stringify({ x })
        : JSON.stringify({ query: PREDICT, variables: { m: request.modelId, x: { x } } });
    const response = await pool.request({ path: pathname, method: 'POST', headers, body });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${response.statusCode}: ${text.slice(0, 300)}`);
    const parsed = JSON.parse(text) as {
      y?: number[][];
      data?: { predict?: { outputs?: { y?: number[][] } } };
      errors?: unknown;
    };
    if (parsed.errors) throw new Error(`errors: ${text.slice(0, 300)}`);
    const y = request.kind === 'floor' ? parsed.y : parsed.data?.predict?.outputs?.y;
    const expected = expectedRow(n);
    if (!y || y.length !== 1 || y[0]!.length !== expected.length || y[0]!.some((value, j) => value !== expected[j])) {
      mismatches++;
      throw new Mismatch(`input ${n}: expected ${JSON.stringify([expected])}, got ${text.slice(0, 300)}`);
    }
  };
  const warmedUp = await closedLoop(request.concurrency, request.warmupSeconds, operation);
  mismatches = 0;
  process.send!({ type: 'measuring' } satisfies LoadMessage);
  const sentBefore = next;
  const result = await closedLoop(request.concurrency, request.seconds, operation);
  process.send!({
    type: 'done',
    result: { ...result, mismatches, requestsSent: next - sentBefore, answeredInWarmup: warmedUp.operations },
  } satisfies LoadMessage);
  await pool.close();
}

await main(JSON.parse(process.env.BENCH_PREDICT_LOAD ?? '{}') as LoadRequest);
process.disconnect();
