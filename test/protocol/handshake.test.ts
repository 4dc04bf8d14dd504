// The stateless-cookie handshake: no server state before the cookie returns, the 3x
// amplification bound, cookie expiry and address binding, version negotiation, server-full,
// lost HANDSHAKE replies and handshake timeout.
import { describe, expect, test } from "bun:test";
import { createEngine, type PeerAddress, type TransmitInfo } from "../../src/protocol/index.ts";
import { decodeDatagram, encodeDatagram } from "../../src/protocol/wire/codec.ts";
import { crc32c, deps, Pair } from "./pair.ts";

const attacker: PeerAddress = { family: 4, host: "192.0.2.66", port: 6666 };
const victim: PeerAddress = { family: 4, host: "192.0.2.77", port: 7777 };

function initial(token: Uint8Array = new Uint8Array(0), version = 1, sourceId = 0x0102030405060708n): Uint8Array {
  const out = new Uint8Array(1500);
  const n = encodeDatagram({ type: "initial", version, sourceId, initialMaxData: 1 << 20, maxAckDelayUs: 2_000, token }, out, crc32c);
  return out.slice(0, n);
}

function drain(engine: ReturnType<typeof createEngine>, nowUs: number): { bytes: Uint8Array; to: PeerAddress | null }[] {
  const out = new Uint8Array(2048);
  const info: TransmitInfo = { length: 0, to: null };
  const sent: { bytes: Uint8Array; to: PeerAddress | null }[] = [];
  for (let i = 0; i < 100 && engine.pollTransmit(nowUs, out, info); i++) sent.push({ bytes: out.slice(0, info.length), to: info.to });
  return sent;
}

describe("stateless cookie", () => {
  test("the server keeps no state and sends at most 3x what it received before validation", () => {
    const server = createEngine({ role: "server" }, deps(1));
    let received = 0;
    let sent = 0;
    for (let i = 0; i < 50; i++) {
      const datagram = initial(new Uint8Array(0), 1, BigInt(i + 1));
      received += datagram.length;
      server.handleDatagram(1_000 + i, datagram, attacker);
      for (const reply of drain(server, 1_000 + i)) {
        expect(reply.to).toBe(attacker);
        expect(decodeDatagram(reply.bytes, crc32c)).toMatchObject({ ok: true, packet: { type: "retry" } });
        sent += reply.bytes.length;
      }
    }
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(3 * received);
    expect(server.counters.unvalidatedBytesSent).toBe(sent);
    expect(server.counters.unvalidatedBytesReceived).toBe(received);
    expect(server.counters.connectionsActive).toBe(0);
    expect(server.pollTimeout()).toBe(Infinity); // nothing scheduled: no per-client state
  });

  test("an INITIAL shorter than 1200 bytes gets no reply", () => {
    const server = createEngine({ role: "server" }, deps(2));
    const full = initial();
    const short = full.slice(0, 600);
    // Re-seal the truncated datagram so that only its size is wrong.
    const crc = crc32c(short.subarray(0, 596));
    new DataView(short.buffer).setUint32(596, crc, true);
    server.handleDatagram(1_000, short, attacker);
    expect(drain(server, 1_000)).toEqual([]);
    expect(server.counters.drops["initial-too-small"]).toBe(1);
  });

  function retryCookie(server: ReturnType<typeof createEngine>, nowUs: number, from: PeerAddress): Uint8Array {
    server.handleDatagram(nowUs, initial(), from);
    const [reply] = drain(server, nowUs);
    const decoded = decodeDatagram(reply.bytes, crc32c);
    if (!decoded.ok || decoded.packet.type !== "retry") throw new Error("expected RETRY");
    return decoded.packet.token;
  }

  test("a cookie is bound to the client's address", () => {
    const server = createEngine({ role: "server" }, deps(3));
    const cookie = retryCookie(server, 1_000, victim);
    server.handleDatagram(2_000, initial(cookie), attacker);
    expect(server.counters.drops["bad-cookie"]).toBe(1);
    expect(server.counters.connectionsActive).toBe(0);
    server.handleDatagram(3_000, initial(cookie), victim);
    expect(server.counters.connectionsActive).toBe(1);
    expect(server.pollEvent()).toMatchObject({ type: "connected", remote: victim });
  });

  test("an expired cookie is refused and answered with a fresh RETRY", () => {
    const server = createEngine({ role: "server", cookieLifetimeUs: 5_000_000 }, deps(4));
    const cookie = retryCookie(server, 1_000, victim);
    server.handleDatagram(1_000 + 5_000_001, initial(cookie), victim);
    expect(server.counters.drops["expired-cookie"]).toBe(1);
    expect(server.counters.handshakesFailed["expired-cookie"]).toBe(1);
    const replies = drain(server, 1_000 + 5_000_001);
    expect(replies.length).toBe(1);
    expect(decodeDatagram(replies[0].bytes, crc32c)).toMatchObject({ ok: true, packet: { type: "retry" } });
    expect(server.counters.connectionsActive).toBe(0);
  });

  test("a forged cookie is refused", () => {
    const server = createEngine({ role: "server" }, deps(5));
    const cookie = retryCookie(server, 1_000, victim);
    cookie[20] ^= 1;
    server.handleDatagram(2_000, initial(cookie), victim);
    expect(server.counters.drops["bad-cookie"]).toBe(1);
  });
});

describe("handshake outcomes", () => {
  test("an unknown version is answered with VERSION_NEGOTIATION and counted; the client gives up", () => {
    const server = createEngine({ role: "server" }, deps(6));
    server.handleDatagram(1_000, initial(new Uint8Array(0), 7), attacker);
    expect(server.counters.drops.version).toBe(1);
    const [reply] = drain(server, 1_000);
    expect(decodeDatagram(reply.bytes, crc32c)).toMatchObject({ ok: true, packet: { type: "version-negotiation", versions: [1] } });

    const client = createEngine({ role: "client" }, deps(7));
    const serverAddress: PeerAddress = { family: 4, host: "10.0.0.1", port: 1 };
    const handle = client.connect(0, serverAddress);
    const [first] = drain(client, 0);
    const sent = decodeDatagram(first.bytes, crc32c);
    if (!sent.ok || sent.packet.type !== "initial") throw new Error("expected INITIAL");
    const out = new Uint8Array(100);
    const n = encodeDatagram({ type: "version-negotiation", destinationId: sent.packet.sourceId, versions: [9] }, out, crc32c);
    client.handleDatagram(10, out.subarray(0, n), serverAddress);
    expect(client.pollEvent()).toMatchObject({ type: "closed", connection: handle, reason: "version-mismatch" });
  });

  test("a full server rejects further connections with server-full", () => {
    const pair = new Pair({ maxConnections: 1 }, {}, 8);
    pair.connect();
    const second = pair.connect();
    pair.drive(1_000_000);
    expect(pair.server.counters.connectionsActive).toBe(1);
    expect(pair.clientEvents.find((e) => e.type === "closed")).toMatchObject({ connection: second, reason: "server-full" });
    expect(pair.server.counters.handshakesFailed["server-full"]).toBe(1);
  });

  test("a lost HANDSHAKE is sent again (server timer, client INITIAL) and connects once", () => {
    const pair = new Pair({}, {}, 9);
    let handshakes = 0;
    pair.dropFilter = (direction, bytes) => direction === "toClient" && bytes[0] === 0x03 && handshakes++ === 0;
    pair.connect();
    pair.drive(2_000_000);
    expect(handshakes).toBeGreaterThanOrEqual(2);
    expect(pair.clientEvents.filter((e) => e.type === "connected").length).toBe(1);
    expect(pair.server.counters.connectionsActive).toBe(1);
  });

  test("the server resends HANDSHAKE on its own until the client's first DATA packet", () => {
    const pair = new Pair({}, {}, 12);
    let initials = 0;
    let handshakes = 0;
    // Every HANDSHAKE lost for 1.5 s, and no client INITIAL after the first two (RETRY round).
    pair.dropFilter = (direction, bytes) => {
      if (direction === "toServer" && bytes[0] === 0x01) return ++initials > 2;
      if (direction === "toClient" && bytes[0] === 0x03) return handshakes++ >= 0 && pair.nowUs < 2_500_000;
      return false;
    };
    pair.connect();
    pair.drive(5_000_000);
    expect(pair.clientEvents.filter((e) => e.type === "connected").length).toBe(1);
    expect(handshakes).toBeGreaterThan(2);
    const before = handshakes;
    pair.drive(5_000_000);
    expect(handshakes).toBe(before); // confirmed: no more resends
  });

  test("no reply at all ends with handshake-timeout", () => {
    const pair = new Pair({}, { handshakeTimeoutUs: 3_000_000 }, 10);
    pair.dropFilter = (direction) => direction === "toClient";
    const handle = pair.connect();
    pair.drive(5_000_000);
    expect(pair.clientEvents).toEqual([{ type: "closed", connection: handle, reason: "handshake-timeout", closeCode: 0, message: "no handshake reply" }]);
    expect(pair.sentCount.toServer).toBeGreaterThan(2); // INITIAL was retransmitted
    expect(pair.sentCount.toServer).toBeLessThan(10);
  });
});
