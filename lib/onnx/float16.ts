/**
 * IEEE 754 binary16 ("half", ONNX's FLOAT16) to and from JavaScript numbers. onnxruntime holds float16 tensor
 * data as the raw bits in a Uint16Array; Node 20 has no Float16Array.
 */

/** Largest finite half: 65504. */
export const FLOAT16_MAX = 65504;

/**
 * The half nearest to `value` (ties to even), as its 16 bits: rounded once, from the double itself (through
 * float32 first could round twice). Magnitudes from 65520 up (where rounding passes FLOAT16_MAX) become
 * ±Infinity, NaN the quiet NaN 0x7e00; -0 keeps its sign.
 */
export function toFloat16Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return sign | 0x7c00;
  // Scaling by a power of two is exact, so each rounding below sees the exact value.
  if (magnitude < 2 ** -14) {
    // Subnormal: units of 2^-24; 1024 of them is the smallest normal, whose bits are 0x0400 too.
    return sign | roundHalfEven(magnitude * 2 ** 24);
  }
  let exponent = Math.floor(Math.log2(magnitude));
  // log2 may be one off near powers of two.
  if (2 ** exponent > magnitude) exponent -= 1;
  else if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  let significand = roundHalfEven(magnitude * 2 ** (10 - exponent));
  if (significand === 2048) {
    significand = 1024;
    exponent += 1;
  }
  return sign | ((exponent + 15) << 10) | (significand - 1024);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The value of a half given as its 16 bits: exact (every half is a double). */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}
