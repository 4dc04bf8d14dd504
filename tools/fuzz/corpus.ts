// Valid datagrams from every state of a connection, the seeds the mutators start from:
// initial, cookie echo, data (whole and fragmented messages in every delivery mode),
// ack, ping, max-data, close, several frames in one packet, and the server-only long types.
import { writeMaxData, writeMessageHeader } from "../../src/protocol/wire/frames.ts";
import {
  ackFrame,
  closeFrame,
  concatBytes,
  craftData,
  craftInitial,
  messageFrame,
  PacketType,
  pingFrame,
  resealChecksum,
  type ConnectionId,
} from "./wireCraft.ts";

export interface SeedConnection {
  client: ConnectionId;
  server: ConnectionId;
  cookie: Uint8Array;
}

function fragmentFrame(modeCode: number, channel: number, messageId: number, index: number, count: number, total: number): Uint8Array {
  const size = Math.ceil(total / count);
  const length = index < count - 1 ? size : total - size * (count - 1);
  const out = new Uint8Array(64 + length);
  const p = writeMessageHeader(out, 0, modeCode, channel, messageId, index, count, total, length);
  out.fill(0x5a, p, p + length);
  return out.slice(0, p + length);
}

function maxDataFrame(bytes: number): Uint8Array {
  const out = new Uint8Array(16);
  return out.slice(0, writeMaxData(out, 0, bytes));
}

function withType(datagram: Uint8Array, type: number): Uint8Array {
  const out = datagram.slice();
  out[0] = type;
  resealChecksum(out);
  return out;
}

/** Seeds addressed to a server, for a connection the server knows (`server` is its ID). */
export function serverSeeds(connection: SeedConnection, firstPacketNumber: number): Uint8Array[] {
  let pn = firstPacketNumber;
  const data = (frames: Uint8Array) => craftData(connection.server, pn++, frames);
  const payload = new Uint8Array(100).fill(7);
  const initial = craftInitial(connection.client, null);
  return [
    initial,
    craftInitial(connection.client, connection.cookie),
    withType(initial, PacketType.retry),
    withType(initial, PacketType.handshake),
    withType(initial, PacketType.versionNegotiation),
    withType(initial, PacketType.reject),
    data(messageFrame(0, 0, payload, 0)),
    data(messageFrame(2, 1, payload, 1)),
    data(messageFrame(3, 2, payload, 2)),
    data(messageFrame(4, 3, payload, 3)),
    data(fragmentFrame(0, 0, 10, 0, 3, 2500)),
    data(fragmentFrame(0, 0, 10, 2, 3, 2500)),
    data(fragmentFrame(1, 5, 11, 1, 4, 3000)),
    data(ackFrame(0)),
    data(ackFrame(3, 3, 25)),
    data(pingFrame()),
    data(maxDataFrame(1 << 24)),
    data(concatBytes(ackFrame(1, 1), pingFrame(), messageFrame(0, 4, payload), maxDataFrame(1 << 22))),
    data(closeFrame("graceful", 0, "bye")),
    data(closeFrame("application", 42, "x".repeat(200))),
  ];
}
