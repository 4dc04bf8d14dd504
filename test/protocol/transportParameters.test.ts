// Transport parameters in the handshake (PROTOCOL.md §3): each side announces its max ACK
// delay, and the other waits that long in its PTO before it probes.
import { describe, expect, test } from "bun:test";
import { decodeDatagram } from "../../src/protocol/wire/codec.ts";
import { crc32c, Pair } from "./pair.ts";

describe("max ACK delay is exchanged in the handshake", () => {
  test("INITIAL and HANDSHAKE carry each side's configured maxAckDelayUs", () => {
    const pair = new Pair({ maxAckDelayUs: 7_000 }, { maxAckDelayUs: 31_000 }, 5);
    const seen: Record<string, number> = {};
    pair.dropFilter = (_d, bytes) => {
      const decoded = decodeDatagram(bytes, crc32c);
      if (decoded.ok && (decoded.packet.type === "initial" || decoded.packet.type === "handshake")) {
        seen[decoded.packet.type] = decoded.packet.maxAckDelayUs;
      }
      return false;
    };
    pair.connect();
    pair.drive(200_000);
    expect(seen).toEqual({ initial: 31_000, handshake: 7_000 });
  });

  test("a peer that acknowledges only after its announced 40 ms gets no spurious probe", () => {
    // The client holds ACKs for a lone packet up to 40 ms; the server must wait that long.
    const pair = new Pair({}, { maxAckDelayUs: 40_000 }, 6);
    pair.connect();
    pair.drive(200_000);
    const server = pair.serverEvents.find((e) => e.type === "connected")!.connection;
    pair.drive(1_000_000);
    let before = 0;
    for (let round = 0; round < 5; round++) {
      // A burst first: every second packet is acknowledged at once, so the RTT estimate is the
      // path's ~1 ms; then a lone packet, which only the client's 40 ms ACK timer acknowledges.
      for (let i = 0; i < 10; i++) expect(pair.server.send(server, 0, new Uint8Array(1100))).toBe("queued");
      pair.drive(100_000);
      before = round === 0 ? pair.server.counters.packetsRetransmitted : before;
      expect(pair.server.send(server, 0, new Uint8Array([round]))).toBe("queued");
      pair.drive(200_000);
    }
    expect(pair.messages("client", 0).length).toBe(55);
    expect(pair.server.counters.packetsRetransmitted - before).toBe(0);
  });

  test("a maxAckDelayUs above 2^14 ms in a HANDSHAKE is malformed", async () => {
    const { encodeDatagram } = await import("../../src/protocol/wire/codec.ts");
    const pair = new Pair({}, {}, 8);
    let clientId = 0n;
    pair.dropFilter = (direction, bytes) => {
      const decoded = decodeDatagram(bytes, crc32c);
      if (decoded.ok && decoded.packet.type === "initial") clientId = decoded.packet.sourceId;
      return direction === "toClient"; // the real HANDSHAKE never arrives
    };
    pair.connect();
    pair.drive(300_000);
    const out = new Uint8Array(1500);
    const n = encodeDatagram({ type: "handshake", version: 1, destinationId: clientId, sourceId: 0x5555n, initialMaxData: 1 << 20, maxAckDelayUs: 16_384_001 }, out, crc32c);
    pair.client.handleDatagram(pair.nowUs, out.subarray(0, n), pair.serverAddress);
    expect(pair.client.counters.drops.malformed).toBe(1);
    expect(pair.clientEvents.some((e) => e.type === "connected")).toBe(false);
  });
});
