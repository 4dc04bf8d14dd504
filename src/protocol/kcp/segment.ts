// The KCP segment header as ikcp.c and kcp-go put it on the wire: 24 bytes, little-endian,
// and a datagram is one or more segments back to back (docs/KCP.md has the byte vectors).
//
//   offset 0  conv u32   conversation: both ends must agree, chosen by the client
//          4  cmd  u8    81 PUSH (data), 82 ACK, 83 WASK (window probe), 84 WINS (window tell)
//          5  frg  u8    fragments still to come in this message: counts down to 0
//          6  wnd  u16   free slots in the sender's receive window
//          8  ts   u32   sender's clock in ms (an ACK echoes the ts of the PUSH it acknowledges)
//         12  sn   u32   segment number (PUSH), or the acknowledged sn (ACK)
//         16  una  u32   every sn below this has been received
//         20  len  u32   payload bytes following the header
//
// Written from the published protocol and ikcp.c / kcp-go v5 kcp.go; no code copied.

export const SEGMENT_HEADER_BYTES = 24;

export const KcpCommand = { push: 81, ack: 82, windowAsk: 83, windowTell: 84 } as const;

/** One decoded header. Reused by the parser: copy the fields you keep. */
export interface SegmentHeader {
  conv: number;
  cmd: number;
  frg: number;
  wnd: number;
  ts: number;
  sn: number;
  una: number;
  len: number;
}

export function emptySegmentHeader(): SegmentHeader {
  return { conv: 0, cmd: 0, frg: 0, wnd: 0, ts: 0, sn: 0, una: 0, len: 0 };
}

function readU32(data: Uint8Array, at: number): number {
  return (data[at] | (data[at + 1] << 8) | (data[at + 2] << 16) | (data[at + 3] << 24)) >>> 0;
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value;
  out[at + 1] = value >>> 8;
  out[at + 2] = value >>> 16;
  out[at + 3] = value >>> 24;
}

/** Decodes the header at `at` (the caller has checked that 24 bytes are there). */
export function readSegmentHeader(data: Uint8Array, at: number, into: SegmentHeader): void {
  into.conv = readU32(data, at);
  into.cmd = data[at + 4];
  into.frg = data[at + 5];
  into.wnd = data[at + 6] | (data[at + 7] << 8);
  into.ts = readU32(data, at + 8);
  into.sn = readU32(data, at + 12);
  into.una = readU32(data, at + 16);
  into.len = readU32(data, at + 20);
}

/** Encodes one header at `at`; returns the offset after it. */
export function writeSegmentHeader(
  out: Uint8Array,
  at: number,
  conv: number,
  cmd: number,
  frg: number,
  wnd: number,
  ts: number,
  sn: number,
  una: number,
  len: number,
): number {
  writeU32(out, at, conv);
  out[at + 4] = cmd;
  out[at + 5] = frg;
  out[at + 6] = wnd;
  out[at + 7] = wnd >>> 8;
  writeU32(out, at + 8, ts);
  writeU32(out, at + 12, sn);
  writeU32(out, at + 16, una);
  writeU32(out, at + 20, len);
  return at + SEGMENT_HEADER_BYTES;
}

export function isKnownCommand(cmd: number): boolean {
  return cmd >= KcpCommand.push && cmd <= KcpCommand.windowTell;
}

/** Why a datagram is not plain KCP; null when every byte of it is well-formed segments. */
export type DatagramVerdict = null | "malformed" | "fec-unsupported" | "crypt-unsupported";

/** kcp-go's FEC header is seqid u32 then a type u16 at offset 4: 0xf1 data, 0xf2 parity. */
const FEC_TYPE_DATA = 0xf1;
const FEC_TYPE_PARITY = 0xf2;
/** kcp-go's crypt header: a 16-byte nonce, then CRC32 (IEEE) of the rest. */
const CRYPT_NONCE_BYTES = 16;
const CRYPT_HEADER_BYTES = 20;

/**
 * Checks that `data[0..length)` is one or more well-formed KCP segments of one conversation
 * with nothing left over (ikcp ignores a short tail; kcp-go never sends one, so a tail means
 * the datagram is something else). On success `first` holds the first header.
 * A datagram that is not KCP is classified when it can be: kcp-go's FEC packets and its
 * crypt header (recognisable when the cipher is "none") are refused by name.
 */
export function checkDatagram(data: Uint8Array, length: number, first: SegmentHeader, scratch: SegmentHeader): DatagramVerdict {
  if (length < SEGMENT_HEADER_BYTES) return classifyForeign(data, length);
  readSegmentHeader(data, 0, first);
  if (!isKnownCommand(first.cmd)) return classifyForeign(data, length);
  let at = 0;
  while (at < length) {
    if (length - at < SEGMENT_HEADER_BYTES) return "malformed";
    readSegmentHeader(data, at, scratch);
    if (scratch.conv !== first.conv || !isKnownCommand(scratch.cmd)) return "malformed";
    at += SEGMENT_HEADER_BYTES;
    if (scratch.len > length - at) return "malformed";
    at += scratch.len;
  }
  return null;
}

function classifyForeign(data: Uint8Array, length: number): DatagramVerdict {
  if (length >= 8) {
    const fecType = data[4] | (data[5] << 8);
    if (fecType === FEC_TYPE_DATA || fecType === FEC_TYPE_PARITY) return "fec-unsupported";
  }
  if (length >= CRYPT_HEADER_BYTES + SEGMENT_HEADER_BYTES) {
    const stated = readU32(data, CRYPT_NONCE_BYTES);
    if (stated === crc32Ieee(data, CRYPT_HEADER_BYTES, length)) return "crypt-unsupported";
  }
  return "malformed";
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, the one kcp-go's crypt header uses) of data[from..to). Only run on
 *  datagrams that already failed to parse, so a plain table is fast enough. */
export function crc32Ieee(data: Uint8Array, from: number, to: number): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = from; i < to; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Wraparound-safe difference of two u32 sequence numbers or ms timestamps: later - earlier. */
export function u32Diff(later: number, earlier: number): number {
  return (later - earlier) | 0;
}
