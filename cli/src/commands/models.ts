import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringOption, type Command } from '../command.js';
import {
  CliCompleteModelUploadDocument,
  CliCreateModelUploadDocument,
  type CliTensorSpecFragment,
} from '../__generated__/operations.js';
import { CliError, usage } from '../errors.js';
import { createProgress, formatBytes } from '../progress.js';

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

export const modelCommands: Command[] = [
  {
    path: ['models', 'upload'],
    summary: 'Upload an ONNX model into a project and verify it',
    usage: `models upload <file> --project PROJECT_ID --version VERSION

Streams the file to the platform with a progress bar, then has it verified (checksum, loadable,
signature). Exits 1 when the model is FAILED.`,
    options: { project: { type: 'string' }, version: { type: 'string' } },
    async run({ api, stdout, stderr, colors }, values, [file]) {
      const projectId = stringOption(values, 'project');
      const version = stringOption(values, 'version');
      if (!file || !projectId || !version) {
        throw usage('Usage: ai-code models upload <file> --project PROJECT_ID --version VERSION');
      }
      const size = await stat(file).then(
        (s) => (s.isFile() ? s.size : Promise.reject(new Error('not a file'))),
        (error: NodeJS.ErrnoException) => {
          throw new CliError(`Cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
        },
      );
      const { createModelUpload: upload } = await api.request(CliCreateModelUploadDocument, {
        input: { projectId, version },
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
      const status = model.status === 'READY' ? colors.out.green(model.status) : colors.out.red(model.status);
      stdout.write(
        [
          `Model ${model.id} (version ${model.version}): ${status}`,
          `  sha256   ${model.sha256 ?? '—'}`,
          `  size     ${model.sizeBytes === null ? '—' : formatBytes(model.sizeBytes)}`,
          `  inputs   ${signature(model.inputs)}`,
          `  outputs  ${signature(model.outputs)}`,
          ...(model.error ? [`  error    ${model.error}`] : []),
          '',
        ].join('\n'),
      );
      if (model.status !== 'READY')
        throw new CliError(`The model is ${model.status}: ${model.error ?? 'no reason given'}`);
    },
  },
];
