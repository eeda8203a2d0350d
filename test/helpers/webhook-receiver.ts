import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request a receiver got. */
export type ReceivedWebhook = {
  id: string;
  timestamp: string;
  signature: string;
  headers: Record<string, string>;
  body: string;
};

export type WebhookReceiver = {
  /** http://127.0.0.1:<port>/hooks */
  url: string;
  port: number;
  /** Every request, in arrival order, whatever it was answered. */
  received: ReceivedWebhook[];
  /** Decides each answer's status (request number from 1); 204 by default. */
  answer: (request: ReceivedWebhook, n: number) => number;
  /** Stops listening (the port stays known, to listen again on it with `reopen`). */
  close(): Promise<void>;
  reopen(): Promise<void>;
};

const headerValues = (request: IncomingMessage) =>
  Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));

/** A local webhook receiver: records every request and answers as `answer` says. */
export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  let server: Server | undefined;
  const receiver: WebhookReceiver = {
    url: '',
    port,
    received: [],
    answer: () => 204,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
        server = undefined;
      }),
    reopen: async () => {
      server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const headers = headerValues(request);
          const webhook: ReceivedWebhook = {
            id: headers['webhook-id'] ?? '',
            timestamp: headers['webhook-timestamp'] ?? '',
            signature: headers['webhook-signature'] ?? '',
            headers,
            body: Buffer.concat(chunks).toString('utf8'),
          };
          receiver.received.push(webhook);
          response.statusCode = receiver.answer(webhook, receiver.received.length);
          response.end();
        });
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(receiver.port, '127.0.0.1', () => resolve());
      });
      receiver.port = (server.address() as AddressInfo).port;
      receiver.url = `http://127.0.0.1:${receiver.port}/hooks`;
    },
  };
  await receiver.reopen();
  return receiver;
}

/** The body of a delivery, verified with the Standard Webhooks reference implementation (throws if it does not verify). */
export function verifyWebhook(secret: string, webhook: ReceivedWebhook): WebhookBody {
  return new Webhook(secret).verify(webhook.body, webhook.headers) as WebhookBody;
}

export type WebhookBody = {
  type: 'prediction.started' | 'prediction.progress' | 'prediction.completed';
  timestamp: string;
  data: {
    id: string;
    status: string;
    progress: number;
    itemsDone: number;
    itemsTotal: number;
    error: string | null;
    modelId: string;
  };
};
