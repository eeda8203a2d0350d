import { writeFile } from 'node:fs/promises';
import { stringOption, type Command } from '../command.js';
import { CliError, usage } from '../errors.js';

/**
 * The sample's layers: the demo model's signature (platform/src/demo.ts: x float32 [N, 4] → y float32
 * [N, 3]), so the walkthrough's inputs fit both; another seed, so its weights and checksum are its own.
 */
export const SAMPLE_MODEL = { sizes: [4, 16, 3], seed: 7 } as const;

export const sampleModelCommand: Command = {
  path: ['models', 'sample'],
  summary: 'Write a small ONNX model to try uploads with',
  usage: `models sample [--out FILE]

Writes a small valid ONNX model (an MLP: input x float32 [N, 4], output y float32 [N, 3], the
demo model's signature) to FILE, or to stdout when it is not a terminal:
  ai-code models sample > model.onnx
  ai-code models upload model.onnx --project PROJECT_ID --version v1`,
  options: { out: { type: 'string' } },
  async run({ stdout, stderr }, values) {
    const out = stringOption(values, 'out');
    if (out === undefined && stdout.isTTY) {
      throw usage('The model is binary: give --out FILE, or redirect it (ai-code models sample > model.onnx)');
    }
    // onnx-proto only here: every other command starts without it.
    const { buildMlpModel } = await import('../../../lib/onnx/build-model.js');
    const bytes = buildMlpModel({ sizes: [...SAMPLE_MODEL.sizes], seed: SAMPLE_MODEL.seed });
    if (out === undefined) {
      stdout.write(bytes);
      return;
    }
    await writeFile(out, bytes).catch((error: Error) => {
      throw new CliError(`Cannot write ${out}: ${error.message}`);
    });
    stderr.write(`Wrote ${out} (${bytes.length} bytes): x float32 [N, 4] → y float32 [N, 3]\n`);
  },
};
