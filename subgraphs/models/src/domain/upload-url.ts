import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Upload URLs are capabilities: whoever holds one may PUT one model's bytes until it expires.
 * They carry the model id and expiry, signed with a key derived from the internal secret (so a
 * leaked upload signature says nothing about the identity header's key).
 */
export type UploadUrlSigner = {
  sign(modelId: string, expiresAt: Date): string;
  verify(modelId: string, expiresSeconds: string, signature: string): boolean;
};

export const UPLOAD_PATH = '/uploads/models/';

export function createUploadUrlSigner(internalSecret: string): UploadUrlSigner {
  const key = createHmac('sha256', internalSecret).update('ai-code model upload urls v1').digest();
  const mac = (modelId: string, expiresSeconds: string) =>
    createHmac('sha256', key).update(`${modelId}\n${expiresSeconds}`).digest();
  return {
    sign: (modelId, expiresAt) => mac(modelId, String(expiresAt.getTime() / 1000)).toString('base64url'),
    verify(modelId, expiresSeconds, signature) {
      const expected = mac(modelId, expiresSeconds);
      const given = Buffer.from(signature, 'base64url');
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/** The absolute URL clients PUT to, on the platform's public address (the gateway). */
export function uploadUrl(publicUrl: string, modelId: string, expiresAt: Date, signature: string): string {
  const url = new URL(`${UPLOAD_PATH}${modelId}`, publicUrl);
  url.searchParams.set('expires', String(expiresAt.getTime() / 1000));
  url.searchParams.set('signature', signature);
  return url.toString();
}
