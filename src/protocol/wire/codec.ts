// Whole-datagram decode and encode into plain objects, built on the same readers and writers
// as the engine's hot path. Used by tests, tools and fuzzing, never per packet in the engine.
import type { Crc32c } from "../api.ts";
import { readDataDestinationHigh, readDataDestinationLow, readDataPacketNumberLow32, writeDataHeader } from "./dataHeader.ts";
import { LongHeader, writeHandshake, writeInitial, writeReject, writeRetry, writeVersionNegotiation } from "./longHeader.ts";
import {
  FrameReader,
  FrameType,
  writeAck,
  writeClose,
  writeMaxData,
  writeMessageHeader,
  writePing,
} from "./frames.ts";
import { CHECKSUM_BYTES, DATA_HEADER_BYTES, MIN_DATAGRAM_BYTES, PacketType, DatagramChecksum, checksumMatches, sealDatagram } from "./packet.ts";

export type Frame =
  | { kind: "padding" }
  | { kind: "ping" }
  | { kind: "ack"; ackDelayUs: number; ranges: [number, number][] }
  | { kind: "close"; reasonCode: number; closeCode: number; message: Uint8Array }
  | { kind: "max-data"; maximum: number }
  | { kind: "message"; mode: number; channel: number; messageId: number; fragmentIndex: number; fragmentCount: number; totalLength: number; payload: Uint8Array };

export type Packet =
  | { type: "initial"; version: number; sourceId: bigint; initialMaxData: number; maxAckDelayUs: number; token: Uint8Array }
  | { type: "retry"; version: number; destinationId: bigint; token: Uint8Array }
  | { type: "handshake"; version: number; destinationId: bigint; sourceId: bigint; initialMaxData: number; maxAckDelayUs: number }
  | { type: "version-negotiation"; destinationId: bigint; versions: number[] }
  | { type: "reject"; version: number; destinationId: bigint; reasonCode: number }
  | { type: "data"; destinationId: bigint; packetNumberLow32: number; frames: Frame[] };

export type DecodeResult = { ok: true; packet: Packet } | { ok: false; reason: string };

const idOf = (high: number, low: number): bigint => (BigInt(high) << 32n) | BigInt(low);
const halves = (id: bigint): [number, number] => [Number(id >> 32n) >>> 0, Number(id & 0xffffffffn) >>> 0];

export function decodeDatagram(data: Uint8Array, crc32c: Crc32c): DecodeResult {
  if (data.length < MIN_DATAGRAM_BYTES) return { ok: false, reason: "truncated" };
  if (!checksumMatches(data, new DatagramChecksum(crc32c))) return { ok: false, reason: "checksum" };
  const type = data[0];
  if (type === PacketType.data) return decodeData(data);
  if (type < PacketType.initial || type > PacketType.reject) return { ok: false, reason: "malformed" };
  const header = new LongHeader();
  if (!header.parse(data)) return { ok: false, reason: "truncated" };
  const r = header.reader;
  const fail = (): DecodeResult => ({ ok: false, reason: r.failure || "malformed" });
  const destinationId = idOf(header.destinationHigh, header.destinationLow);
  const sourceId = idOf(header.sourceHigh, header.sourceLow);
  if (type === PacketType.initial) {
    const initialMaxData = r.varint();
    const maxAckDelayUs = r.varint();
    const tokenLength = r.varint();
    if (r.failure !== "" || tokenLength > 64) return fail();
    const start = r.skip(tokenLength);
    if (start < 0) return fail();
    return { ok: true, packet: { type: "initial", version: header.version, sourceId, initialMaxData, maxAckDelayUs, token: data.slice(start, start + tokenLength) } };
  }
  if (type === PacketType.retry) {
    const tokenLength = r.varint();
    if (r.failure !== "" || tokenLength > 64) return fail();
    const start = r.skip(tokenLength);
    if (start < 0) return fail();
    return { ok: true, packet: { type: "retry", version: header.version, destinationId, token: data.slice(start, start + tokenLength) } };
  }
  if (type === PacketType.handshake) {
    const initialMaxData = r.varint();
    const maxAckDelayUs = r.varint();
    if (r.failure !== "") return fail();
    return { ok: true, packet: { type: "handshake", version: header.version, destinationId, sourceId, initialMaxData, maxAckDelayUs } };
  }
  if (type === PacketType.versionNegotiation) {
    const count = r.u8();
    const versions: number[] = [];
    for (let i = 0; i < count && r.failure === ""; i++) versions.push(r.u32be());
    if (r.failure !== "") return fail();
    return { ok: true, packet: { type: "version-negotiation", destinationId, versions } };
  }
  const reasonCode = r.u8();
  if (reasonCode < 0) return fail();
  return { ok: true, packet: { type: "reject", version: header.version, destinationId, reasonCode } };
}

function decodeData(data: Uint8Array): DecodeResult {
  if (data.length < DATA_HEADER_BYTES + CHECKSUM_BYTES) return { ok: false, reason: "truncated" };
  const frames: Frame[] = [];
  const f = new FrameReader();
  f.reset(data, DATA_HEADER_BYTES, data.length - CHECKSUM_BYTES);
  for (let guard = 0; guard < data.length; guard++) {
    const type = f.next();
    if (type === -1) break;
    if (type === -2) return { ok: false, reason: f.reader.failure || "malformed" };
    if (type === FrameType.padding) frames.push({ kind: "padding" });
    else if (type === FrameType.ping) frames.push({ kind: "ping" });
    else if (type === FrameType.ack) {
      const ranges: [number, number][] = [];
      for (let i = 0; i < f.ackRangeCount; i++) ranges.push([f.ackRanges[i * 2], f.ackRanges[i * 2 + 1]]);
      frames.push({ kind: "ack", ackDelayUs: f.ackDelayUs, ranges });
    } else if (type === FrameType.close) {
      frames.push({ kind: "close", reasonCode: f.closeReasonCode, closeCode: f.closeCode, message: data.slice(f.closeMessageStart, f.closeMessageStart + f.closeMessageLength) });
    } else if (type === FrameType.maxData) frames.push({ kind: "max-data", maximum: f.maxDataBytes });
    else {
      frames.push({
        kind: "message", mode: f.modeCode, channel: f.channel, messageId: f.messageId, fragmentIndex: f.fragmentIndex,
        fragmentCount: f.fragmentCount, totalLength: f.totalLength, payload: data.slice(f.payloadStart, f.payloadStart + f.payloadLength),
      });
    }
  }
  return { ok: true, packet: { type: "data", destinationId: idOf(readDataDestinationHigh(data), readDataDestinationLow(data)), packetNumberLow32: readDataPacketNumberLow32(data), frames } };
}

/** Encodes a packet into `out` (>= 1200 bytes); returns the datagram length. */
export function encodeDatagram(packet: Packet, out: Uint8Array, crc32c: Crc32c): number {
  const checksum = new DatagramChecksum(crc32c);
  switch (packet.type) {
    case "initial": {
      const [h, l] = halves(packet.sourceId);
      return writeInitial(out, checksum, packet.version, h, l, packet.initialMaxData, packet.maxAckDelayUs, packet.token.length > 0 ? packet.token : null);
    }
    case "retry": {
      const [h, l] = halves(packet.destinationId);
      return writeRetry(out, checksum, packet.version, h, l, packet.token);
    }
    case "handshake": {
      const [h, l] = halves(packet.destinationId);
      const [sh, sl] = halves(packet.sourceId);
      return writeHandshake(out, checksum, packet.version, h, l, sh, sl, packet.initialMaxData, packet.maxAckDelayUs);
    }
    case "version-negotiation": {
      const [h, l] = halves(packet.destinationId);
      return writeVersionNegotiation(out, checksum, h, l);
    }
    case "reject": {
      const [h, l] = halves(packet.destinationId);
      return writeReject(out, checksum, packet.version, h, l, packet.reasonCode);
    }
    case "data": {
      const [h, l] = halves(packet.destinationId);
      let p = writeDataHeader(out, h, l, packet.packetNumberLow32);
      for (const frame of packet.frames) p = encodeFrame(frame, out, p);
      return sealDatagram(out, p, checksum);
    }
  }
}

function encodeFrame(frame: Frame, out: Uint8Array, p: number): number {
  switch (frame.kind) {
    case "padding":
      out[p] = 0;
      return p + 1;
    case "ping":
      return writePing(out, p);
    case "ack": {
      const ranges = new Float64Array(frame.ranges.flat());
      return writeAck(out, p, ranges, frame.ranges.length, frame.ackDelayUs, out.length);
    }
    case "close":
      return writeClose(out, p, frame.reasonCode, frame.closeCode, frame.message);
    case "max-data":
      return writeMaxData(out, p, frame.maximum);
    case "message": {
      p = writeMessageHeader(out, p, frame.mode, frame.channel, frame.messageId, frame.fragmentIndex, frame.fragmentCount, frame.totalLength, frame.payload.length);
      out.set(frame.payload, p);
      return p + frame.payload.length;
    }
  }
}
