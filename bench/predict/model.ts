/**
 * The model of bench/predict: a 16→4 linear layer (y = x·W + b, float32) with small integer
 * weights, and inputs of small integers, so every output is an integer float32 represents exactly:
 * the expected answer of every request is known here, whatever runs the model.
 */
import { buildLinearModel } from '../../lib/onnx/build-model.js';

export const INPUTS = 16;
export const OUTPUTS = 4;

const WEIGHTS = Array.from({ length: INPUTS }, (_, i) =>
  Array.from({ length: OUTPUTS }, (_, j) => ((i * OUTPUTS + j) % 7) - 3),
);
const BIAS = Array.from({ length: OUTPUTS }, (_, j) => j - 1);

export const modelBytes = (): Uint8Array => buildLinearModel({ weights: WEIGHTS, bias: BIAS });

/** Input row `n` (n below 4 million, so every sum stays exact in float32): its first element is n itself, so no two requests share an input. */
export function inputRow(n: number): number[] {
  return Array.from({ length: INPUTS }, (_, i) => (i === 0 ? n : ((n * 31 + i * 7) % 1000) - 500));
}

/** The exact answer to `inputRow(n)`: one output row of OUTPUTS integers. */
export function expectedRow(n: number): number[] {
  const x = inputRow(n);
  return Array.from({ length: OUTPUTS }, (_, j) =>
    x.reduce((sum, value, i) => sum + value * WEIGHTS[i]![j]!, BIAS[j]!),
  );
}
