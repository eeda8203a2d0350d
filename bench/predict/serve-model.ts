/**
 * The model of bench/predict as its floors run it: onnxruntime-node, the platform's session
 * options, one `predict` from input rows to output rows. The platform runs it its own way.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { createSessionOptions } from '../../lib/onnx/session-options.js';
import { INPUTS, modelBytes } from './model.js';

export type ServedModel = { predict(x: number[][]): Promise<number[][]>; release(): Promise<void> };

export async function serveModel(): Promise<ServedModel> {
  const session = await InferenceSession.create(modelBytes(), createSessionOptions());
  return {
    async predict(x) {
      const result = await session.run({ x: new Tensor('float32', Float32Array.from(x.flat()), [x.length, INPUTS]) });
      const y = result.y!;
      const data = Array.from(y.data as Float32Array);
      const width = y.dims[1]!;
      return Array.from({ length: y.dims[0]! }, (_, i) => data.slice(i * width, (i + 1) * width));
    },
    release: () => session.release(),
  };
}
