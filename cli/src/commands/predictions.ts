import {
  CliPredictionProgressDocument,
  CliStartPredictionDocument,
  type CliPredictionProgressSubscription,
  type PredictionStatus,
} from '../__generated__/operations.js';
import type { Api } from '../api.js';
import { stringOption, type Command, type Context } from '../command.js';
import { CliError, usage } from '../errors.js';
import { jsonInput } from '../json-input.js';
import { createProgress } from '../progress.js';

type Prediction = CliPredictionProgressSubscription['predictionProgress'];

const TERMINAL: ReadonlySet<PredictionStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);

/**
 * Follows a prediction through `predictionProgress` until it ends: a bar on a terminal, a line per
 * status change and per quarter elsewhere. Exits 1 unless it SUCCEEDED.
 */
async function watch({ api, stderr, stdout, colors }: Context, id: string): Promise<void> {
  let last: Prediction | undefined;
  let progress: ReturnType<typeof createProgress> | undefined;
  const describe = (p: Prediction) => `${p.itemsDone}/${p.itemsTotal} items`;
  await api.subscribe(
    CliPredictionProgressDocument,
    { id },
    ({ predictionProgress: p }) => {
      if (!last) stderr.write(`Prediction ${p.id} of ${p.model.project.name} ${p.model.version}\n`);
      if (p.status !== last?.status && !TERMINAL.has(p.status)) {
        progress?.finish();
        progress = createProgress(stderr, { label: p.status.padEnd(9) });
      }
      progress?.update(p.itemsDone, p.itemsTotal, describe(p));
      last = p;
    },
    reconnecting(api, stderr),
  );
  progress?.finish();
  if (!last) throw new CliError(`Prediction ${id}: the subscription ended without any event`);
  const paint = last.status === 'SUCCEEDED' ? colors.out.green : colors.out.red;
  stdout.write(`${paint(last.status)} ${describe(last)}${last.error ? `: ${last.error}` : ''}\n`);
  if (!TERMINAL.has(last.status)) throw new CliError(`Prediction ${id} stopped being reported while ${last.status}`);
  if (last.status !== 'SUCCEEDED') throw new CliError(`Prediction ${id} ${last.status}`);
}

/** Tells the user about a dropped connection and its recovery, on stderr. */
export const reconnecting = (api: Api, stderr: Context['stderr']) => ({
  disconnected: () => stderr.write(`Connection to ${api.url} lost; reconnecting…\n`),
  reconnected: () => stderr.write('Reconnected\n'),
});

export const predictionCommands: Command[] = [
  {
    path: ['predictions', 'start'],
    summary: 'Start a batch prediction',
    usage: `predictions start --model MODEL_ID (--items JSON | --file PATH) [--watch]

Items are a JSON array of inputs objects, one per item. Prints the prediction's id; --watch then
follows it as \`predictions watch\` does.`,
    options: {
      model: { type: 'string' },
      items: { type: 'string' },
      file: { type: 'string' },
      watch: { type: 'boolean' },
    },
    async run(context, values) {
      const modelId = stringOption(values, 'model');
      if (!modelId) throw usage('Give the model: ai-code predictions start --model MODEL_ID --items JSON');
      const items = await jsonInput(
        stringOption(values, 'items'),
        stringOption(values, 'file'),
        { inline: 'items', what: 'the items' },
        context.stdin,
      );
      if (!Array.isArray(items)) throw usage('The items must be a JSON array of inputs objects');
      const { startPrediction } = await context.api.request(CliStartPredictionDocument, { input: { modelId, items } });
      context.stdout.write(`${startPrediction.id}\n`);
      if (values.watch) await watch(context, startPrediction.id);
    },
  },
  {
    path: ['predictions', 'watch'],
    summary: 'Follow a batch prediction live until it ends',
    usage: `predictions watch <prediction-id>

Shows the prediction's progress as it runs (through the predictionProgress subscription) and
exits when it ends: 0 when it SUCCEEDED, 1 when it FAILED or was CANCELED.`,
    options: {},
    async run(context, _values, [id]) {
      if (!id) throw usage('Give the prediction: ai-code predictions watch <prediction-id>');
      await watch(context, id);
    },
  },
];
