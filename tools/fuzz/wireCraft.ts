// Builds and parses RUDP datagrams with the engine's own codec (src/protocol/wire and
// src/protocol/wire), for attack tests and the fuzzer: a packet an attacker crafts here
// is byte for byte what a peer would send, so a refusal proves the engine checked it.
import { readDataDestinationHigh, readDataDestinationLow, readDataPacketNumberLow32, writeDataHeader } from "../../src/protocol/wire/dataHeader.ts";
import { writeInitial, LongHeader } from "../../src/protocol/wire/longHeader.ts";
import { closeReasonCode, closeReasonFromCode } from "../../src/protocol/wire/closeReasons.ts";
import { FrameReader, FrameType, writeClose, writeMessageHeader, writePing } from "../../src/protocol/wire/frames.ts";
import { ByteReader } from "../../src/protocol/wire/byteReader.ts";
import {
  CHECKSUM_BYTES,
  DATA_HEADER_BYTES,
  DatagramChecksum,
  PacketType,
  PROTOCOL_VERSION,
  sealDatagram,
} from "../../src/protocol/wire/packet.ts";
import { writeVarint } from "../../src/protocol/wire/varint.ts";
import { crc32c } from "../../src/native/crc32c.ts";
import type { CloseReason } from "../../src/protocol/api.ts";

export { PacketType, FrameType, PROTOCOL_VERSION };

const DATAGRAM_BYTES_MAX = 1500;
const checksum = new DatagramChecksum(crc32c);
/** What our crafted INITIALs announce as the receive window. */
export const CRAFTED_INITIAL_MAX_DATA = 4 * 1024 * 1024;

export interface ConnectionId {
  high: number;
  low: number;
}

export function randomConnectionId(): ConnectionId {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return { high: words[0]!, low: words[1]! };
}

export function craftInitial(source: ConnectionId, token: Uint8Array | null, version = PROTOCOL_VERSION): Uint8Array {
  const out = new Uint8Array(DATAGRAM_BYTES_MAX);
  const length = writeInitial(out, checksum, version, source.high, source.low, CRAFTED_INITIAL_MAX_DATA, 2_000, token);
  return out.slice(0, length);
}

/** A DATA packet: header, the given frame bytes, CRC trailer. */
export function craftData(destination: ConnectionId, packetNumber: number, frames: Uint8Array): Uint8Array {
  const out = new Uint8Array(DATA_HEADER_BYTES + frames.length + CHECKSUM_BYTES);
  writeDataHeader(out, destination.high, destination.low, packetNumber);
  out.set(frames, DATA_HEADER_BYTES);
  return out.slice(0, sealDatagram(out, DATA_HEADER_BYTES + frames.length, checksum));
}

/** An ACK frame for the single range [largest - firstRangeLength, largest]. */
export function ackFrame(largest: number, firstRangeLength = 0, ackDelayUs = 0): Uint8Array {
  const out = new Uint8Array(64);
  let p = 0;
  out[p++] = FrameType.ack;
  p = writeVarint(out, p, largest);
  p = writeVarint(out, p, ackDelayUs);
  p = writeVarint(out, p, 0); // no extra ranges
  p = writeVarint(out, p, firstRangeLength);
  return out.slice(0, p);
}

/** An unfragmented reliable-ordered MESSAGE frame. */
export function messageFrame(channel: number, messageId: number, payload: Uint8Array, modeCode = 0): Uint8Array {
  const out = new Uint8Array(64 + payload.length);
  const p = writeMessageHeader(out, 0, modeCode, channel, messageId, 0, 1, payload.length, payload.length);
  out.set(payload, p);
  return out.slice(0, p + payload.length);
}

export function closeFrame(reason: CloseReason, closeCode = 0, message = ""): Uint8Array {
  const text = new TextEncoder().encode(message);
  const out = new Uint8Array(32 + text.length);
  return out.slice(0, writeClose(out, 0, closeReasonCode(reason), closeCode, text));
}

export function pingFrame(): Uint8Array {
  const out = new Uint8Array(1);
  writePing(out, 0);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

export function resealChecksum(datagram: Uint8Array): void {
  if (datagram.length < CHECKSUM_BYTES + 1) return;
  sealDatagram(datagram, datagram.length - CHECKSUM_BYTES, checksum);
}

export interface ParsedLong {
  type: number;
  version: number;
  destination: ConnectionId;
  source: ConnectionId;
  /** RETRY: the cookie; REJECT: one byte of reason code. */
  body: Uint8Array;
}

/** Parses a long-header packet (RETRY, HANDSHAKE, REJECT, VERSION_NEGOTIATION); null if it is not one. */
export function parseLong(datagram: Uint8Array): ParsedLong | null {
  const type = datagram[0];
  if (type === undefined || type === PacketType.data || type === PacketType.initial) return null;
  const header = new LongHeader();
  if (!header.parse(datagram)) return null;
  return {
    type,
    version: header.version,
    destination: { high: header.destinationHigh, low: header.destinationLow },
    source: { high: header.sourceHigh, low: header.sourceLow },
    body: datagram.slice(header.reader.pos, datagram.length - CHECKSUM_BYTES),
  };
}

/** The cookie inside a RETRY body (varint length + bytes). */
export function retryCookie(retry: ParsedLong): Uint8Array | null {
  const reader = new ByteReader();
  reader.reset(retry.body, 0, retry.body.length);
  const length = reader.varint();
  const start = reader.skip(length);
  return start < 0 ? null : retry.body.slice(start, start + length);
}

export interface ParsedData {
  destination: ConnectionId;
  packetNumber: number;
  /** Frame types in order (FrameType.message for every message frame). */
  frameTypes: number[];
  closeReason: CloseReason | null;
  closeMessage: string;
  /** Largest packet number this packet acknowledges, or -1. */
  ackLargest: number;
  messages: { channel: number; messageId: number; payload: Uint8Array }[];
}

/** Parses a DATA packet and its frames; null if it is not a well-formed one. */
export function parseData(datagram: Uint8Array): ParsedData | null {
  if (datagram[0] !== PacketType.data || datagram.length < DATA_HEADER_BYTES + CHECKSUM_BYTES) return null;
  const parsed: ParsedData = {
    destination: { high: readDataDestinationHigh(datagram), low: readDataDestinationLow(datagram) },
    packetNumber: readDataPacketNumberLow32(datagram),
    frameTypes: [],
    closeReason: null,
    closeMessage: "",
    ackLargest: -1,
    messages: [],
  };
  const frames = new FrameReader();
  frames.reset(datagram, DATA_HEADER_BYTES, datagram.length - CHECKSUM_BYTES);
  for (let i = 0; i < 4096; i++) {
    const type = frames.next();
    if (type === -1) return parsed;
    if (type === -2) return null;
    parsed.frameTypes.push(type);
    if (type === FrameType.ack) parsed.ackLargest = Math.max(parsed.ackLargest, frames.ackLargest);
    if (type === FrameType.close) {
      parsed.closeReason = closeReasonFromCode(frames.closeReasonCode);
      parsed.closeMessage = new TextDecoder().decode(datagram.subarray(frames.closeMessageStart, frames.closeMessageStart + frames.closeMessageLength));
    }
    if (type === FrameType.message) {
      parsed.messages.push({
        channel: frames.channel,
        messageId: frames.messageId,
        payload: datagram.slice(frames.payloadStart, frames.payloadStart + frames.payloadLength),
      });
    }
  }
  return parsed;
}
