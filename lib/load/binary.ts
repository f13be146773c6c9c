// Little-endian numbers as model files store them.

/** An IEEE half (its 16 bits) as a float. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const bfloatBits = new DataView(new ArrayBuffer(4));

/** A bfloat16 (its 16 bits, the top half of a float32) as a float. */
export function bfloat16ToFloat(bits: number): number {
  bfloatBits.setUint32(0, (bits & 0xffff) << 16);
  return bfloatBits.getFloat32(0);
}

/**
 * `count` little-endian float32 values at `offset` of `bytes`, copied, so any alignment works
 * (hosts are little-endian, as WebAssembly is).
 */
export function readFloat32(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
  return out;
}
