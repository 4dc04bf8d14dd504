// Closing while the handshake is unfinished (test/sim/FINDINGS.md 6 and 7, PROTOCOL.md §7):
// a closing server answers a repeated INITIAL with HANDSHAKE and CLOSE, and an INITIAL that
// arrives after the connection is gone opens nothing.
import { describe, expect, test } from "bun:test";
import { decodeDatagram } from "../../src/protocol/wire/codec.ts";
import { crc32c, Pair } from "./pair.ts";

describe("closing during the handshake", () => {
  test("a server that closes before its HANDSHAKE arrives still tells the client (graceful, not a timeout)", () => {
    const pair = new Pair({}, {}, 21);
    let blockToClient = true;
    const sentToClient: string[] = [];
    pair.dropFilter = (direction, bytes) => {
      if (direction !== "toClient") return false;
      const decoded = decodeDatagram(bytes, crc32c);
      if (decoded.ok && decoded.packet.type !== "retry") sentToClient.push(decoded.packet.type);
      return blockToClient && decoded.ok && decoded.packet.type !== "retry";
    };
    pair.connect();
    pair.drive(20_000);
    const server = pair.serverEvents.find((e) => e.type === "connected")!.connection;
    pair.server.close(server, "graceful", true);
    // HANDSHAKE, CLOSE and every timer resend of both are lost (FINDINGS 7: 577 ms one way, 17% loss).
    pair.drive(2_000_000);
    const lostToClient = sentToClient.length;
    expect(sentToClient.filter((t) => t === "data").length).toBeGreaterThanOrEqual(3);
    blockToClient = false;
    pair.drive(3_000_000); // the client's next INITIAL (at 2.75 s) must get HANDSHAKE and CLOSE
    expect(sentToClient.slice(lostToClient)).toContain("handshake");
    expect(pair.clientEvents.find((e) => e.type === "closed")).toMatchObject({ reason: "graceful" });
    expect(pair.serverEvents.filter((e) => e.type === "connected").length).toBe(1);
  });

  test("a copy of the client's INITIAL arriving after the close opens no second connection", () => {
    const pair = new Pair({}, {}, 22);
    let lastInitial: Uint8Array | null = null;
    pair.dropFilter = (direction, bytes) => {
      const decoded = decodeDatagram(bytes, crc32c);
      if (direction === "toServer" && decoded.ok && decoded.packet.type === "initial" && decoded.packet.token.length > 0) lastInitial = bytes;
      return false;
    };
    const client = pair.connect();
    pair.drive(100_000);
    expect(lastInitial).not.toBeNull();
    pair.client.close(client, "graceful", true);
    pair.drive(2_000_000);
    expect(pair.serverEvents.find((e) => e.type === "closed")).toMatchObject({ reason: "graceful" });
    pair.server.handleDatagram(pair.nowUs, lastInitial!, pair.clientAddress); // cookie still valid (10 s)
    pair.drive(100_000);
    expect(pair.serverEvents.filter((e) => e.type === "connected").length).toBe(1);
    expect(pair.server.counters.drops["closed-connection"]).toBe(1);
    expect(pair.server.counters.connectionsActive).toBe(0);
  });
});
