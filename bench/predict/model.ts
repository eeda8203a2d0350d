/**
 * The model of bench/predict: a 16→4 linear layer (y = x·W + b, float32) with small integer
 * weights, and inputs of small integers, so every output is an integer float32 represents exactly:
 * the expected answer of every request is known here, whatever runs the model.
 */
import { buildLinearModel } from '../../lib/onnx/build-model.js';

export const INPUTS = 16;
export const OUTPUTS = 4;

// Row 0 multiplies the request's number (up to MAX_ROW): ±1 there keeps every sum below 2^24.
const WEIGHTS = Array.from({ length: INPUTS }, (_, i) =>
  Array.from({ length: OUTPUTS }, (_, j) => (i === 0 ? (j % 2 === 0 ? 1 : -1) : ((i * OUTPUTS + j) % 7) - 3)),
);
/** The largest request number whose answer float32 holds exactly (|sum| ≤ n + 15·500·3). */
export const MAX_ROW = 16_000_000;
const BIAS = Array.from({ length: OUTPUTS }, (_, j) => j - 1);

/** The mutation every GraphQL run sends (the platform's, and the GraphQL floors'). */
export const PREDICT = 'mutation ($m: ID!, $x: JSON!) { predict(modelId: $m, inputs: $x) { outputs } }';

export const modelBytes = (): Uint8Array => buildLinearModel({ weights: WEIGHTS, bias: BIAS });

/** Input row `n` (n up to MAX_ROW, so every sum stays exact in float32): its first element is n itself, so no two requests share an input. */
export function inputRow(n: number): number[] {
  if (n > MAX_ROW) throw new RangeError(`input ${n} is past ${MAX_ROW}: its answer would not be exact in float32`);
  return Array.from({ length: INPUTS }, (_, i) => (i === 0 ? n : ((n * 31 + i * 7) % 1000) - 500));
}

/** The exact answer to `inputRow(n)`: one output row of OUTPUTS integers. */
export function expectedRow(n: number): number[] {
  const x = inputRow(n);
  return Array.from({ length: OUTPUTS }, (_, j) =>
    x.reduce((sum, value, i) => sum + value * WEIGHTS[i]![j]!, BIAS[j]!),
  );
}
