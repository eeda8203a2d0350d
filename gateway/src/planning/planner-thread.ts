// A query planner thread (see planner-pool.ts): plans operations against one supergraph, one at a
// time, off the gateway's event loop. Started with the supergraph SDL; ended by the pool when it
// takes too long.
import { parentPort, workerData } from 'node:worker_threads';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner } from '@apollo/query-planner';
import { parse } from 'graphql';
import { internOneByteNames } from '../../../lib/graphql/one-byte-names.js';

export type PlanRequest = { id: number; query: string; operationName: string | undefined };
export type PlanAnswer =
  { id: number; plan: unknown; error?: undefined } | { id: number; plan?: undefined; error: string };
export type PlannerThreadData = { supergraphSdl: string };

const port = parentPort;
if (!port) throw new Error('planner-thread.ts runs as a worker thread');
const { supergraphSdl } = workerData as PlannerThreadData;
// The plans' operation texts, sent to subgraphs, stay one-byte strings (one-byte-names.ts).
internOneByteNames(supergraphSdl);
const supergraph = Supergraph.build(supergraphSdl);
const apiSchema = supergraph.apiSchema();
// As @apollo/gateway builds its own planner: same supergraph, default configuration.
const planner = new QueryPlanner(supergraph);

port.on('message', ({ id, query, operationName }: PlanRequest) => {
  let answer: PlanAnswer;
  try {
    const operation = operationFromDocument(apiSchema, parse(query), { operationName });
    answer = { id, plan: planner.buildQueryPlan(operation) };
  } catch (error) {
    answer = { id, error: (error as Error).message };
  }
  port.postMessage(answer);
});
port.postMessage({ ready: true });
