// Datagram layout shared by every packet type (docs/PROTOCOL.md §2): a one-byte packet type,
// a type-specific header, a body, and a trailer holding the little-endian CRC32C of every
// byte before it. The native receive thread checks the same trailer.
import type { Crc32c } from "../api.ts";

export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

export const PacketType = {
  initial: 0x01,
  retry: 0x02,
  handshake: 0x03,
  versionNegotiation: 0x04,
  reject: 0x05,
  data: 0x10,
} as const;

export const CONNECTION_ID_BYTES = 8;
export const CHECKSUM_BYTES = 4;
/** type(1) version(4) dcid(8) scid(8) */
export const LONG_HEADER_BYTES = 1 + 4 + CONNECTION_ID_BYTES + CONNECTION_ID_BYTES;
/** type(1) dcid(8) packetNumber(4) */
export const DATA_HEADER_BYTES = 1 + CONNECTION_ID_BYTES + 4;
/** The smallest client INITIAL a server answers: path MTU probe and amplification budget. */
export const INITIAL_MIN_BYTES = 1200;
export const MIN_DATAGRAM_BYTES = 1 + CHECKSUM_BYTES;
/** Bytes of packet number carried on the wire (the low 32 bits of a 53-bit counter). */
export const PACKET_NUMBER_WIRE_BYTES = 4;

/** CRC32C of data[0..length): how every seal and check in the engine computes the trailer.
 *  Each endpoint builds its own from its dependencies (no shared state), so two engines in
 *  one process may use different checksum implementations. A class, not a bare function, so
 *  that a plain `Crc32c` (which ignores `length`) cannot be passed where this is meant. */
export class DatagramChecksum {
  /** CRC32C of data[0..length), unsigned. */
  readonly of: (data: Uint8Array, length: number) => number;

  /** `prefix` is the allocation-free form when there is one (e.g. native
   *  rudp_crc32c(0, data, length)); otherwise crc32c runs over a view. */
  constructor(crc32c: Crc32c, prefix?: (data: Uint8Array, length: number) => number) {
    this.of = prefix !== undefined
      ? (data, length) => prefix(data, length) >>> 0
      : (data, length) => crc32c(data.subarray(0, length)) >>> 0;
  }
}

/** Writes the CRC32C trailer over out[0..bodyEnd); returns the datagram length. */
export function sealDatagram(out: Uint8Array, bodyEnd: number, checksum: DatagramChecksum): number {
  const crc = checksum.of(out, bodyEnd);
  out[bodyEnd] = crc & 0xff;
  out[bodyEnd + 1] = (crc >>> 8) & 0xff;
  out[bodyEnd + 2] = (crc >>> 16) & 0xff;
  out[bodyEnd + 3] = (crc >>> 24) & 0xff;
  return bodyEnd + CHECKSUM_BYTES;
}

export function checksumMatches(data: Uint8Array, checksum: DatagramChecksum): boolean {
  const n = data.length;
  if (n < MIN_DATAGRAM_BYTES) return false;
  const stored = (data[n - 4] | (data[n - 3] << 8) | (data[n - 2] << 16) | (data[n - 1] << 24)) >>> 0;
  return checksum.of(data, n - CHECKSUM_BYTES) === stored;
}

export function writeU32be(out: Uint8Array, pos: number, value: number): number {
  out[pos] = value >>> 24;
  out[pos + 1] = (value >>> 16) & 0xff;
  out[pos + 2] = (value >>> 8) & 0xff;
  out[pos + 3] = value & 0xff;
  return pos + 4;
}

export function readU32be(data: Uint8Array, pos: number): number {
  return ((data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]) >>> 0;
}

/** A connection ID is 8 bytes, held as two unsigned 32-bit halves. */
export function writeConnectionId(out: Uint8Array, pos: number, high: number, low: number): number {
  writeU32be(out, pos, high);
  return writeU32be(out, pos + 4, low);
}

/** An exact 53-bit map key for a connection ID: all of `high` and the top 21 bits of `low`.
 *  Two IDs may share a key; the endpoint refuses such a collision when it picks its own IDs,
 *  and compares the full ID after every lookup. */
export function connectionIdKey(high: number, low: number): number {
  return high * 0x200000 + (low >>> 11);
}

/** RFC 9000 §A.3: recover the full packet number from its low 32 bits, given the largest
 *  packet number received so far (-1 if none). */
export function decodePacketNumber(largestReceived: number, truncated: number): number {
  const window = 0x100000000;
  const halfWindow = 0x80000000;
  const expected = largestReceived + 1;
  const candidate = expected - (expected % window) + truncated;
  if (candidate <= expected - halfWindow && candidate < Number.MAX_SAFE_INTEGER - window) return candidate + window;
  if (candidate > expected + halfWindow && candidate >= window) return candidate - window;
  return candidate;
}
