// Forged DATA packets from the client's address to the server: lets a test play a peer that
// shares no sender code with the engine (another implementation of docs/PROTOCOL.md).
import { decodeDatagram, encodeDatagram, type Frame } from "../../src/protocol/wire/codec.ts";
import { crc32c, type Pair } from "./pair.ts";

export class ForgedPeer {
  serverId = 0n;
  clientId = 0n;
  largestToServer = 0;
  private nextNumber = 0;

  /** Installs a link filter that learns the IDs and packet numbers; call before connect(). */
  constructor(private readonly pair: Pair) {
    pair.dropFilter = (direction, bytes) => {
      const decoded = decodeDatagram(bytes, crc32c);
      if (!decoded.ok) return false;
      const packet = decoded.packet;
      if (packet.type === "initial") this.clientId = packet.sourceId;
      if (packet.type === "handshake") this.serverId = packet.sourceId;
      if (packet.type === "data" && direction === "toServer") this.largestToServer = Math.max(this.largestToServer, packet.packetNumberLow32);
      return this.silenced && direction === "toClient";
    };
  }

  /** true: packets to the real client are dropped (it would see ACKs of numbers it never sent). */
  silenced = false;

  /** Sends one DATA packet with these frames to the server, numbered past the real client's. */
  send(frames: Frame[]): void {
    this.silenced = true;
    if (this.nextNumber <= this.largestToServer) this.nextNumber = this.largestToServer + 100;
    const out = new Uint8Array(2048);
    const length = encodeDatagram({ type: "data", destinationId: this.serverId, packetNumberLow32: this.nextNumber++, frames }, out, crc32c);
    this.pair.server.handleDatagram(this.pair.nowUs, out.subarray(0, length), this.pair.clientAddress);
    this.pair.drive(10_000);
  }
}

export function messageFrame(mode: number, channel: number, messageId: number, payload: Uint8Array,
    fragment: { index: number; count: number; total: number } = { index: 0, count: 1, total: payload.length }): Frame {
  return { kind: "message", mode, channel, messageId, fragmentIndex: fragment.index, fragmentCount: fragment.count, totalLength: fragment.total, payload };
}
