import { describe, expect, it } from 'vitest';
import { createSharedCachePolicy } from './shared-cache-policy.js';

describe('shared cache policy', () => {
  it('asks and shares while it knows no run time or no round trip', () => {
    const measured: { roundTrip?: number } = {};
    const policy = createSharedCachePolicy(() => measured.roundTrip);
    expect(policy.worthSharing('m')).toBe(true);
    policy.ran('m', 0.05);
    expect(policy.worthSharing('m')).toBe(true);
    measured.roundTrip = 0.2;
    expect(policy.worthSharing('other')).toBe(true);
    // Both known now, and the model faster than the round trip.
    expect(policy.worthSharing('m')).toBe(false);
  });

  it('asks for a model slower than the round trip, and for a fast one once in 64 calls', () => {
    const policy = createSharedCachePolicy(() => 0.2);
    policy.ran('slow', 30);
    policy.ran('fast', 0.05);
    expect(Array.from({ length: 10 }, () => policy.worthSharing('slow'))).toEqual(Array(10).fill(true));
    const fast = Array.from({ length: 128 }, () => policy.worthSharing('fast'));
    expect(fast.filter(Boolean)).toHaveLength(2);
    expect(fast[63]).toBe(true);
  });

  it('follows a model whose runs get slower (a moving average, not the first run)', () => {
    const policy = createSharedCachePolicy(() => 1);
    policy.ran('m', 0.1);
    expect(policy.worthSharing('m')).toBe(false);
    for (let i = 0; i < 20; i++) policy.ran('m', 5);
    expect(policy.worthSharing('m')).toBe(true);
  });
});
