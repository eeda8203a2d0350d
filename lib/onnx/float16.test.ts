import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLOAT16_MAX, fromFloat16Bits, toFloat16Bits } from './float16.js';

describe('float16', () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [0.333251953125, 0x3555],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
  ])('%d has the bits %i', (value, bits) => {
    expect(toFloat16Bits(value)).toBe(bits);
    expect(Object.is(fromFloat16Bits(bits), value)).toBe(true);
  });

  it('rounds to nearest, ties to even', () => {
    // Halves near 1 are 2^-10 apart: 1 + 2^-11 is half-way between 1 (even) and 1 + 2^-10 (odd).
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toFloat16Bits(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01);
    expect(toFloat16Bits(0.1)).toBe(0x2e66);
    // Past the largest half: 65519 rounds down to it, 65520 (the tie) to Infinity.
    expect(toFloat16Bits(65519)).toBe(0x7bff);
    expect(toFloat16Bits(65520)).toBe(0x7c00);
    expect(toFloat16Bits(2 ** -25)).toBe(0x0000);
    expect(toFloat16Bits(2 ** -25 + 2 ** -40)).toBe(0x0001);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
  });

  it('every half survives a round trip, and rounding picks the nearest', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = fromFloat16Bits(bits);
      if (Number.isNaN(value)) continue;
      expect(toFloat16Bits(value)).toBe(bits);
    }
    fc.assert(
      fc.property(fc.double({ min: -FLOAT16_MAX, max: FLOAT16_MAX, noNaN: true }), (value) => {
        const rounded = fromFloat16Bits(toFloat16Bits(value));
        const up = fromFloat16Bits(toFloat16Bits(value) + (value >= 0 ? 1 : -1));
        const down = fromFloat16Bits(toFloat16Bits(value) - (value >= 0 ? 1 : -1));
        // No half lies closer to the value than the one chosen.
        const error = Math.abs(rounded - value);
        for (const other of [up, down])
          if (Number.isFinite(other)) expect(error).toBeLessThanOrEqual(Math.abs(other - value));
      }),
    );
  });
});
