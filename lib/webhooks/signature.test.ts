import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newSigningSecret, signWebhook } from './signature.js';

describe('signWebhook', () => {
  it('signs as the Standard Webhooks reference implementation verifies', () => {
    const secret = newSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ type: 'prediction.started', data: { id: 'p1' } });
    const headers = signWebhook(secret, 'msg_1', new Date(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    // The same as the reference's own signature.
    const at = new Date(1_700_000_000_000);
    expect(signWebhook(secret, 'msg_1', at, body)['webhook-signature']).toBe(
      new Webhook(secret).sign('msg_1', at, body),
    );
  });

  it('does not verify with another secret, another body or another id', () => {
    const secret = newSigningSecret();
    const body = '{"a":1}';
    const headers = signWebhook(secret, 'msg_1', new Date(), body);
    expect(() => new Webhook(newSigningSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_2' })).toThrow();
  });

  it('refuses a secret without the whsec_ prefix', () => {
    expect(() => signWebhook('abc', 'id', new Date(), '{}')).toThrow(/whsec_/);
  });
});
