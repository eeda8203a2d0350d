import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringOption, type Command } from '../command.js';
import {
  CliAllModelsDocument,
  CliCompleteModelUploadDocument,
  CliCreateModelUploadDocument,
  CliDeleteModelDocument,
  CliModelDocument,
  CliProjectModelsDocument,
  CliRemoveModelAliasDocument,
  CliSetModelAliasDocument,
  type CliAllModelsQuery,
  type CliModelSummaryFragment,
  type CliProjectModelsQuery,
  type CliTensorSpecFragment,
} from '../__generated__/operations.js';
import type { Api } from '../api.js';
import { CliError, usage } from '../errors.js';
import { createProgress, formatBytes, type Colors } from '../progress.js';
import { sampleModelCommand } from './sample-model.js';
import { table } from '../table.js';

const readAll = async (response: IncomingMessage): Promise<string> => {
  let text = '';
  for await (const chunk of response) text += String(chunk);
  return text;
};

/** How long to wait for 100 Continue before sending the body anyway (as curl waits 1 s). */
const CONTINUE_WAIT_MS = 1000;

/**
 * PUTs the file to the signed upload URL as a stream of known length, reporting the bytes handed
 * to the connection as they go. The URL is the credential: no Authorization header is sent.
 */
async function putFile(url: string, path: string, size: number, onSent: (bytes: number) => void): Promise<void> {
  const target = new URL(url);
  const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, {
    method: 'PUT',
    // The body goes only once the platform has accepted the URL (100 Continue): a refusal (a bad or
    // used URL, a file over the limit) then arrives on a connection nothing was written to, instead
    // of a reset the refusal could be lost in. A server that never answers 100 gets the body anyway.
    headers: { 'content-type': 'application/octet-stream', 'content-length': size, expect: '100-continue' },
  });
  request.flushHeaders();
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  const accepted = new Promise<boolean>((resolve) => {
    const fallback = setTimeout(() => resolve(true), CONTINUE_WAIT_MS);
    const settle = (go: boolean) => {
      clearTimeout(fallback);
      resolve(go);
    };
    request.once('continue', () => settle(true));
    request.once('response', () => settle(false));
    request.once('error', () => settle(false));
  });
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      onSent(sent);
      callback(null, chunk);
    },
  });
  // A server that refuses early (413) may close before the whole body is sent: its answer wins.
  const streamed = accepted
    .then((go) => (go ? pipeline(createReadStream(path), counter, request) : undefined))
    .catch((error: unknown) => error);
  const response = await answered.catch((error: Error) => {
    throw new CliError(`Upload failed: ${error.message}`);
  });
  const body = await readAll(response);
  // Refused before the body was sent: the request ends here, its body unsent.
  if (!(await accepted)) request.destroy();
  await streamed;
  if ((response.statusCode ?? 500) >= 300) {
    let message = body.trim();
    try {
      const parsed = JSON.parse(body) as { error?: { message?: string } | string; errors?: Array<{ message: string }> };
      message =
        (typeof parsed.error === 'string' ? parsed.error : parsed.error?.message) ??
        parsed.errors?.[0]?.message ??
        message;
    } catch {
      // Not JSON: the text is the message.
    }
    throw new CliError(`Upload refused (${response.statusCode}): ${message}`);
  }
}

const signature = (specs: CliTensorSpecFragment[]): string =>
  specs.map((s) => `${s.name} ${s.type} [${s.shape.map((d) => d ?? 'N').join(', ')}]`).join(', ') || '—';

type ModelDetails = {
  id: string;
  name: string;
  version: string;
  status: string;
  sha256: string | null;
  sizeBytes: number | null;
  error: string | null;
  inputs: CliTensorSpecFragment[];
  outputs: CliTensorSpecFragment[];
};

/** A model as `models upload` and `models show` print it: its status, then a line per detail. */
const describeModel = (model: ModelDetails, colors: Colors, more: Array<[string, string]> = []): string =>
  [
    `Model ${model.id} (version ${model.version}): ${(model.status === 'READY' ? colors.green : colors.red)(model.status)}`,
    ...[
      ['name', model.name],
      ...more,
      ['sha256', model.sha256 ?? '—'],
      ['size', model.sizeBytes === null ? '—' : formatBytes(model.sizeBytes)],
      ['inputs', signature(model.inputs)],
      ['outputs', signature(model.outputs)],
      ...(model.error ? [['error', model.error]] : []),
    ].map(([name, value]) => `  ${name!.padEnd(8)} ${value}`),
    '',
  ].join('\n');

/** Zeros in each input's shape (a dynamic dimension as 1): inputs a model of that signature accepts. */
function exampleInputs(inputs: CliTensorSpecFragment[]): string | undefined {
  const zero: Record<string, unknown> = { string: '', bool: false };
  const tensor = (shape: number[], value: unknown): unknown =>
    shape.length === 0 ? value : Array.from({ length: shape[0]! }, () => tensor(shape.slice(1), value));
  const example: Record<string, unknown> = {};
  for (const input of inputs) {
    const shape = input.shape.map((d) => d ?? 1);
    // A large example helps nobody: only small tensors are spelled out.
    if (shape.reduce((a, b) => a * b, 1) > 16) return undefined;
    example[input.name] = tensor(shape, zero[input.type] ?? 0);
  }
  return inputs.length > 0 ? JSON.stringify(example) : undefined;
}

const isEmpty = (value: unknown): boolean =>
  value === null || value === undefined || (typeof value === 'object' && Object.keys(value).length === 0);

type ListedModel = CliModelSummaryFragment & { project: string };

/** Every model of one project, page after page. */
async function projectModels(api: Api, projectId: string): Promise<ListedModel[]> {
  const models: ListedModel[] = [];
  for (let after: string | null = null; ;) {
    const { project }: CliProjectModelsQuery = await api.request(CliProjectModelsDocument, {
      project: projectId,
      after,
    });
    if (!project) throw new CliError(`Project ${projectId} not found (or not yours): see ai-code projects`);
    models.push(...project.models.nodes.map((m) => ({ ...m, project: project.name })));
    if (!project.models.pageInfo.hasNextPage) return models;
    after = project.models.pageInfo.endCursor;
  }
}

/** Every model of every project of the caller: a project with more than one page is then read alone. */
async function allModels(api: Api): Promise<ListedModel[]> {
  const models: ListedModel[] = [];
  for (let after: string | null = null; ;) {
    const { projects }: CliAllModelsQuery = await api.request(CliAllModelsDocument, { after });
    for (const project of projects.nodes) {
      if (project.models.pageInfo.hasNextPage) models.push(...(await projectModels(api, project.id)));
      else models.push(...project.models.nodes.map((m) => ({ ...m, project: project.name })));
    }
    if (!projects.pageInfo.hasNextPage) return models;
    after = projects.pageInfo.endCursor;
  }
}

export const modelCommands: Command[] = [
  {
    path: ['models', 'list'],
    summary: 'List the models of a project, or of all your projects',
    usage: `models list [--project PROJECT_ID]

One line per model: its id (for predict, models show and predictions start), project, name,
version, aliases, status, size, inputs and when it was uploaded; newest first within each project.`,
    options: { project: { type: 'string' } },
    async run({ api, stdout }, values) {
      const projectId = stringOption(values, 'project');
      const models = projectId ? await projectModels(api, projectId) : await allModels(api);
      if (models.length === 0) {
        stdout.write(
          'No models yet: ai-code models upload <file> --project PROJECT_ID --version VERSION\n' +
            '(ai-code models sample --out model.onnx writes a small model to try)\n',
        );
        return;
      }
      stdout.write(
        table(
          ['ID', 'PROJECT', 'NAME', 'VERSION', 'ALIASES', 'STATUS', 'SIZE', 'CREATED', 'INPUTS'],
          models.map((m) => [
            m.id,
            m.project,
            m.name,
            m.version,
            m.aliases.join(',') || '—',
            m.status,
            m.sizeBytes === null ? '—' : formatBytes(m.sizeBytes),
            m.createdAt,
            signature(m.inputs),
          ]),
        ),
      );
    },
  },
  {
    path: ['models', 'show'],
    summary: 'Show a model: status, checksum, signature, metrics',
    usage: `models show <model-id>

Prints the model's details and, when its inputs are small, a predict command to try it with.`,
    options: {},
    async run({ api, stdout, colors }, _values, [id]) {
      if (!id) throw usage('Give the model: ai-code models show <model-id> (ids: ai-code models list)');
      const { model } = await api.request(CliModelDocument, { id });
      if (!model) throw new CliError(`Model ${id} not found (or not yours): see ai-code models list`);
      const example = model.status === 'READY' ? exampleInputs(model.inputs) : undefined;
      stdout.write(
        describeModel(model, colors.out, [
          ['aliases', model.aliases.join(', ') || '—'],
          ...(isEmpty(model.tags) ? [] : [['tags', JSON.stringify(model.tags)] as [string, string]]),
          ['project', `${model.project.name} (${model.project.id})`],
          ['created', model.createdAt],
          ['stored', model.storagePath],
          ...(model.metrics ? [['metrics', JSON.stringify(model.metrics)] as [string, string]] : []),
        ]),
      );
      if (example) stdout.write(`  try      ai-code predict --model ${model.id} --inputs '${example}'\n`);
    },
  },
  {
    path: ['models', 'upload'],
    summary: 'Upload an ONNX model into a project and verify it',
    usage: `models upload <file> --project PROJECT_ID --version VERSION [--name NAME]

Streams the file to the platform with a progress bar, then has it verified (checksum, loadable,
signature). The version belongs to the model NAME (default "default"). Exits 1 when the model is FAILED.`,
    options: { project: { type: 'string' }, version: { type: 'string' }, name: { type: 'string' } },
    async run({ api, stdout, stderr, colors }, values, [file]) {
      const projectId = stringOption(values, 'project');
      const version = stringOption(values, 'version');
      const name = stringOption(values, 'name');
      if (!file || !projectId || !version) {
        throw usage('Usage: ai-code models upload <file> --project PROJECT_ID --version VERSION [--name NAME]');
      }
      const size = await stat(file).then(
        (s) => (s.isFile() ? s.size : Promise.reject(new Error('not a file'))),
        (error: NodeJS.ErrnoException) => {
          throw new CliError(`Cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
        },
      );
      const { createModelUpload: upload } = await api.request(CliCreateModelUploadDocument, {
        input: { projectId, version, ...(name === undefined ? {} : { name }) },
      });

      const progress = createProgress(stderr, { label: 'Uploading' });
      progress.update(0, size, `0 B of ${formatBytes(size)}`);
      await putFile(upload.uploadUrl, file, size, (sent) =>
        progress.update(sent, size, `${formatBytes(sent)} of ${formatBytes(size)}`),
      );
      progress.finish(`${formatBytes(size)} sent`);

      stderr.write('Verifying…\n');
      const { completeModelUpload: model } = await api.request(CliCompleteModelUploadDocument, {
        id: upload.model.id,
      });
      stdout.write(describeModel(model, colors.out));
      if (model.status !== 'READY')
        throw new CliError(`The model is ${model.status}: ${model.error ?? 'no reason given'}`);
    },
  },
  {
    path: ['models', 'alias'],
    summary: 'Point an alias (production, staging…) at a model version, or remove it',
    usage: `models alias <model-id> <alias> [--remove]

Points the alias at this version of its model name, moving it off the version that held it in
the same step; with --remove, takes it off this version. "ai-code predict" and the other doors then
reach the version as <name>@<alias>.`,
    options: { remove: { type: 'boolean' } },
    async run({ api, stdout }, values, [id, alias]) {
      if (!id || !alias) throw usage('Usage: ai-code models alias <model-id> <alias> [--remove]');
      if (values.remove === true) {
        const { removeModelAlias: model } = await api.request(CliRemoveModelAliasDocument, { id, alias });
        stdout.write(`Removed alias ${alias} from model ${model.id} (${model.name}:${model.version})\n`);
        return;
      }
      const { setModelAlias: model } = await api.request(CliSetModelAliasDocument, { id, alias });
      stdout.write(`${model.name}@${alias} now points at model ${model.id} (version ${model.version})\n`);
    },
  },
  {
    path: ['models', 'delete'],
    summary: 'Delete a model version with its file, metrics and history',
    usage: `models delete <model-id>

Deletes the version with its stored file, its metrics and its history (inference requests,
finished predictions); its aliases go with it. Refused while one of its predictions is queued or
running.`,
    options: {},
    async run({ api, stdout }, _values, [id]) {
      if (!id) throw usage('Give the model: ai-code models delete <model-id> (ids: ai-code models list)');
      await api.request(CliDeleteModelDocument, { id });
      stdout.write(`Deleted model ${id}\n`);
    },
  },
  sampleModelCommand,
];
