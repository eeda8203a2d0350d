import { describe, expect, it } from 'vitest';
import { median } from './stats.js';

describe('median', () => {
  it('is the middle value of an odd count and the mean of the middle two of an even one, unrounded', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([0.1, 0.2])).toBe((0.1 + 0.2) / 2);
    expect(median([7])).toBe(7);
  });

  it('leaves its argument as it was', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});
