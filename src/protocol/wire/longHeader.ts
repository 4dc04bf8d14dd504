// Long-header packets of the handshake (docs/PROTOCOL.md §3): INITIAL, RETRY, HANDSHAKE,
// VERSION_NEGOTIATION and REJECT. Writers return the datagram length (CRC included);
// parseLongHeader decodes the common part into a reused object.
import { ByteReader } from "./byteReader.ts";
import {
  CHECKSUM_BYTES,
  INITIAL_MIN_BYTES,
  PacketType,
  SUPPORTED_VERSIONS,
  sealDatagram,
  writeConnectionId,
  writeU32be,
  type DatagramChecksum,
} from "./packet.ts";
import { writeVarint } from "./varint.ts";

export const TOKEN_BYTES_MAX = 64;
/** Largest max ACK delay a peer may announce (QUIC's 2^14 ms); more is malformed. */
export const MAX_ACK_DELAY_US_MAX = 16_384_000;

export class LongHeader {
  readonly reader = new ByteReader();
  type = 0;
  version = 0;
  destinationHigh = 0;
  destinationLow = 0;
  sourceHigh = 0;
  sourceLow = 0;

  /** Parses type, version and both connection IDs of data[0..length-4); false if truncated. */
  parse(data: Uint8Array): boolean {
    const r = this.reader;
    r.reset(data, 0, data.length - CHECKSUM_BYTES);
    this.type = r.u8();
    this.version = r.u32be();
    this.destinationHigh = r.u32be();
    this.destinationLow = r.u32be();
    this.sourceHigh = r.u32be();
    this.sourceLow = r.u32be();
    return r.failure === "";
  }
}

function writeLongHeader(out: Uint8Array, type: number, version: number, dHigh: number, dLow: number, sHigh: number, sLow: number): number {
  out[0] = type;
  writeU32be(out, 1, version);
  writeConnectionId(out, 5, dHigh, dLow);
  return writeConnectionId(out, 13, sHigh, sLow);
}

/** INITIAL: header, transport parameters, token, the encryption offer (§9.2: cryptoFlags and
 *  the client's ephemeral key, when `clientEphemeral` is given), zero padding to
 *  INITIAL_MIN_BYTES in all. */
export function writeInitial(out: Uint8Array, checksum: DatagramChecksum, version: number, sourceHigh: number, sourceLow: number,
    initialMaxData: number, maxAckDelayUs: number, token: Uint8Array | null, cryptoFlags = 0, clientEphemeral: Uint8Array | null = null): number {
  let p = writeLongHeader(out, PacketType.initial, version, 0, 0, sourceHigh, sourceLow);
  p = writeVarint(out, p, initialMaxData);
  p = writeVarint(out, p, maxAckDelayUs);
  const tokenLength = token === null ? 0 : token.length;
  p = writeVarint(out, p, tokenLength);
  if (token !== null) {
    out.set(token, p);
    p += tokenLength;
  }
  if (clientEphemeral !== null) {
    out[p++] = cryptoFlags;
    out.set(clientEphemeral, p);
    p += clientEphemeral.length;
  }
  const bodyEnd = INITIAL_MIN_BYTES - CHECKSUM_BYTES;
  out.fill(0, p, bodyEnd);
  return sealDatagram(out, bodyEnd, checksum);
}

export function writeRetry(out: Uint8Array, checksum: DatagramChecksum, version: number, clientHigh: number, clientLow: number, cookie: Uint8Array): number {
  let p = writeLongHeader(out, PacketType.retry, version, clientHigh, clientLow, 0, 0);
  p = writeVarint(out, p, cookie.length);
  out.set(cookie, p);
  return sealDatagram(out, p + cookie.length, checksum);
}

export function writeHandshake(out: Uint8Array, checksum: DatagramChecksum, version: number, clientHigh: number, clientLow: number,
    serverHigh: number, serverLow: number, initialMaxData: number, maxAckDelayUs: number): number {
  const p = writeHandshakeHead(out, version, clientHigh, clientLow, serverHigh, serverLow, initialMaxData, maxAckDelayUs);
  return sealDatagram(out, p, checksum);
}

/** HANDSHAKE up to its transport parameters; returns where the trailer (or §9.2's key fields) go. */
export function writeHandshakeHead(out: Uint8Array, version: number, clientHigh: number, clientLow: number,
    serverHigh: number, serverLow: number, initialMaxData: number, maxAckDelayUs: number): number {
  let p = writeLongHeader(out, PacketType.handshake, version, clientHigh, clientLow, serverHigh, serverLow);
  p = writeVarint(out, p, initialMaxData);
  return writeVarint(out, p, maxAckDelayUs);
}

/** Version 0 in the header marks the packet; the body lists what the server speaks. */
export function writeVersionNegotiation(out: Uint8Array, checksum: DatagramChecksum, clientHigh: number, clientLow: number): number {
  let p = writeLongHeader(out, PacketType.versionNegotiation, 0, clientHigh, clientLow, 0, 0);
  out[p++] = SUPPORTED_VERSIONS.length;
  for (const version of SUPPORTED_VERSIONS) p = writeU32be(out, p, version);
  return sealDatagram(out, p, checksum);
}

export function writeReject(out: Uint8Array, checksum: DatagramChecksum, version: number, clientHigh: number, clientLow: number, reasonCode: number): number {
  const p = writeLongHeader(out, PacketType.reject, version, clientHigh, clientLow, 0, 0);
  out[p] = reasonCode;
  return sealDatagram(out, p + 1, checksum);
}
