import { CliPredictDocument } from '../__generated__/operations.js';
import { stringOption, type Command } from '../command.js';
import { usage } from '../errors.js';
import { jsonInput } from '../json-input.js';

export const predictCommands: Command[] = [
  {
    path: ['predict'],
    summary: 'Run a model once and print its outputs',
    usage: `predict --model MODEL_ID (--inputs JSON | --file PATH)

Inputs are tensors keyed by name, as nested arrays: --inputs '{"x": [[1, 2, 3]]}'. --file reads
the same JSON from a file (- for stdin). The outputs are printed as JSON on stdout.`,
    options: { model: { type: 'string' }, inputs: { type: 'string' }, file: { type: 'string' } },
    async run({ api, stdout, stderr, colors, stdin }, values) {
      const model = stringOption(values, 'model');
      if (!model) throw usage('Give the model: ai-code predict --model MODEL_ID --inputs JSON');
      const inputs = await jsonInput(
        stringOption(values, 'inputs'),
        stringOption(values, 'file'),
        { inline: 'inputs', what: 'the inputs' },
        stdin,
      );
      const { predict } = await api.request(CliPredictDocument, { model, inputs });
      stdout.write(`${JSON.stringify(predict.outputs, null, 2)}\n`);
      stderr.write(colors.err.dim(`${predict.durationMs} ms · request ${predict.request.id}\n`));
    },
  },
];
