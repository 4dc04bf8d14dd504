// QUIC-style variable-length integers (RFC 9000 §16): the two high bits of the first byte
// give the length (1, 2, 4 or 8 bytes), the rest is the big-endian value. We accept values up
// to 2^53 - 1 only, because numbers in JavaScript are exact to there.

export const VARINT_MAX = Number.MAX_SAFE_INTEGER;

export function varintLength(value: number): number {
  if (value < 0x40) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x40000000) return 4;
  return 8;
}

/** Writes `value` (0..2^53-1) at `pos`; returns the position after it. Caller checks room. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  if (value < 0x40) {
    out[pos] = value;
    return pos + 1;
  }
  if (value < 0x4000) {
    out[pos] = 0x40 | (value >>> 8);
    out[pos + 1] = value & 0xff;
    return pos + 2;
  }
  if (value < 0x40000000) {
    out[pos] = 0x80 | (value >>> 24);
    out[pos + 1] = (value >>> 16) & 0xff;
    out[pos + 2] = (value >>> 8) & 0xff;
    out[pos + 3] = value & 0xff;
    return pos + 4;
  }
  const high = Math.floor(value / 0x100000000);
  const low = value >>> 0;
  out[pos] = 0xc0 | (high >>> 24);
  out[pos + 1] = (high >>> 16) & 0xff;
  out[pos + 2] = (high >>> 8) & 0xff;
  out[pos + 3] = high & 0xff;
  out[pos + 4] = low >>> 24;
  out[pos + 5] = (low >>> 16) & 0xff;
  out[pos + 6] = (low >>> 8) & 0xff;
  out[pos + 7] = low & 0xff;
  return pos + 8;
}
