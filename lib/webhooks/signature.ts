import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): a secret `whsec_<base64>` whose
 * base64 part, decoded, keys an HMAC-SHA256 of `<id>.<timestamp>.<body>`; the header carries
 * `v1,<base64 of that HMAC>`.
 */
export const SECRET_PREFIX = 'whsec_';

/** A new signing secret: 32 random bytes. */
export const newSigningSecret = (): string => `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;

export type SignedHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** The headers of one attempt: `timestamp` is the attempt's time (receivers check it is recent). */
export function signWebhook(secret: string, id: string, timestamp: Date, body: string): SignedHeaders {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook signing secret starts with whsec_');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const seconds = Math.floor(timestamp.getTime() / 1000).toString();
  const mac = createHmac('sha256', key).update(`${id}.${seconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': seconds, 'webhook-signature': `v1,${mac}` };
}
