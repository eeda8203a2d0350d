import {
  CliModelPredictionsDocument,
  CliPredictionProgressDocument,
  CliRecentPredictionsDocument,
  CliStartPredictionDocument,
  type CliPredictionProgressSubscription,
  type CliPredictionSummaryFragment,
  type PredictionStatus,
} from '../__generated__/operations.js';
import type { Api } from '../api.js';
import { stringOption, type Command, type Context } from '../command.js';
import { CliError, usage } from '../errors.js';
import { jsonInput } from '../json-input.js';
import { createProgress } from '../progress.js';
import { table } from '../table.js';

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

/**
 * What a file of items holds, shown wherever a newcomer meets it: an error about the items, the usage.
 * The inputs are the demo model's (x float32 [N, 4]).
 */
export const ITEMS_FORMAT = `The items are a JSON array with one inputs object per item, each as \`predict --inputs\` takes
it (tensors keyed by input name, as nested arrays), e.g. an items.json for the demo model:
  [{"x": [[0.1, 0.2, 0.3, 0.4]]}, {"x": [[0.5, 0.6, 0.7, 0.8]]}]`;

const DEFAULT_LIST_LIMIT = 20;

type ListedPrediction = CliPredictionSummaryFragment & { model: string };

export const predictionCommands: Command[] = [
  {
    path: ['predictions', 'start'],
    summary: 'Start a batch prediction',
    usage: `predictions start --model MODEL_ID (--items JSON | --file PATH) [--watch]

Prints the prediction's id; --watch then follows it as \`predictions watch\` does. --file - reads
the items from stdin.

${ITEMS_FORMAT}`,
    options: {
      model: { type: 'string' },
      items: { type: 'string' },
      file: { type: 'string' },
      watch: { type: 'boolean' },
    },
    async run(context, values) {
      const modelId = stringOption(values, 'model');
      if (!modelId) {
        throw usage(`Give the model: ai-code predictions start --model MODEL_ID --file items.json\n\n${ITEMS_FORMAT}`);
      }
      const items = await jsonInput(
        stringOption(values, 'items'),
        stringOption(values, 'file'),
        { inline: 'items', what: 'the items', format: ITEMS_FORMAT },
        context.stdin,
      );
      if (!Array.isArray(items)) throw usage(`The items are not a JSON array.\n\n${ITEMS_FORMAT}`);
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
  {
    path: ['predictions', 'list'],
    summary: 'List the newest batch predictions, of one model or of all your models',
    usage: `predictions list [--model MODEL_ID] [--limit N]

One line per prediction, newest first: its id (for predictions watch), model, status, items done
and when it was created. Shows the ${DEFAULT_LIST_LIMIT} newest unless --limit says otherwise (at most 100).`,
    options: { model: { type: 'string' }, limit: { type: 'string' } },
    async run({ api, stdout }, values) {
      const limitText = stringOption(values, 'limit') ?? String(DEFAULT_LIST_LIMIT);
      const limit = Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw usage(`--limit must be a whole number from 1 to 100, not ${limitText}`);
      }
      const modelId = stringOption(values, 'model');
      const predictions: ListedPrediction[] = [];
      if (modelId) {
        const { model } = await api.request(CliModelPredictionsDocument, { model: modelId, first: limit });
        if (!model) throw new CliError(`Model ${modelId} not found (or not yours): see ai-code models list`);
        const name = `${model.project.name}/${model.version}`;
        predictions.push(...model.predictions.nodes.map((p) => ({ ...p, model: name })));
      } else {
        const { projects } = await api.request(CliRecentPredictionsDocument, { first: limit });
        for (const project of projects.nodes) {
          for (const model of project.models.nodes) {
            const name = `${project.name}/${model.version}`;
            predictions.push(...model.predictions.nodes.map((p) => ({ ...p, model: name })));
          }
        }
      }
      if (predictions.length === 0) {
        stdout.write('No predictions yet: ai-code predictions start --model MODEL_ID --file items.json\n');
        return;
      }
      const newest = predictions.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, limit);
      stdout.write(
        table(
          ['ID', 'MODEL', 'STATUS', 'ITEMS', 'CREATED', 'ERROR'],
          newest.map((p) => [p.id, p.model, p.status, `${p.itemsDone}/${p.itemsTotal}`, p.createdAt, p.error ?? '']),
        ),
      );
    },
  },
];
