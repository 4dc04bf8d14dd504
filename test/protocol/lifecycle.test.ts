// Connection life over the in-memory pair: backpressure and drain, the receive window,
// graceful / abortive / application close, keepalive, idle timeout, optimistic-ACK defence.
import { describe, expect, test } from "bun:test";
import { decodeDatagram, encodeDatagram } from "../../src/protocol/wire/codec.ts";
import { crc32c, Pair } from "./pair.ts";

function connected(pair: Pair): { client: number; server: number } {
  const client = pair.connect();
  pair.drive(100_000);
  const serverEvent = pair.serverEvents.find((e) => e.type === "connected");
  expect(serverEvent).toBeDefined();
  return { client, server: serverEvent!.connection };
}

const KIB = 1024;

describe("flow control", () => {
  test("send returns buffer-full, then a drain event, then accepts again", () => {
    const config = { maxMessageBytes: 16 * KIB, sendBufferBytesPerConnection: 64 * KIB };
    const pair = new Pair(config, config, 3);
    const { client } = connected(pair);
    const chunk = new Uint8Array(1000);
    let queued = 0;
    for (let i = 0; i < 1000 && pair.client.send(client, 0, chunk) === "queued"; i++) queued++;
    expect(queued).toBe(65);
    expect(pair.client.send(client, 0, chunk)).toBe("buffer-full");
    expect(pair.client.counters.limitRefusals["send-buffer"]).toBeGreaterThan(0);
    expect(pair.client.bufferedBytes(client)).toBe(65_000);
    pair.drive(2_000_000);
    expect(pair.clientEvents.filter((e) => e.type === "drain").length).toBe(1);
    expect(pair.client.send(client, 0, chunk)).toBe("queued");
    pair.drive(2_000_000);
    expect(pair.messages("server").length).toBe(66);
  });

  test("the sender never overruns the receiver's window while the receiver does not read", () => {
    const config = { maxMessageBytes: 8 * KIB, receiveWindowBytes: 32 * KIB };
    const pair = new Pair(config, config, 5);
    const { client } = connected(pair);
    pair.pollServerEvents = false;
    const chunk = new Uint8Array(1000);
    for (let i = 0; i < 200; i++) expect(pair.client.send(client, 0, chunk)).toBe("queued");
    pair.drive(3_000_000);
    // Only the window's worth (32 KiB) was sent; the rest waits in the client's buffer.
    expect(pair.client.connectionStats(client)!.messagesSent).toBe(32);
    expect(pair.client.bufferedBytes(client)).toBe(200_000 - 32_000); // the 32 sent were acknowledged
    pair.pollServerEvents = true;
    pair.drive(5_000_000);
    expect(pair.messages("server").length).toBe(200);
    expect(pair.client.bufferedBytes(client)).toBe(0);
  });
});

describe("close", () => {
  test("graceful close drains queued messages first", () => {
    const pair = new Pair({}, {}, 21);
    const { client } = connected(pair);
    let drops = 0;
    pair.dropFilter = () => ++drops % 7 === 0;
    for (let i = 0; i < 300; i++) pair.client.send(client, 0, new Uint8Array(100).fill(i & 0xff));
    pair.client.close(client, "graceful", true);
    expect(pair.client.send(client, 0, new Uint8Array(1))).toBe("closed");
    pair.drive(10_000_000);
    expect(pair.messages("server").length).toBe(300);
    expect(pair.serverEvents.at(-1)).toMatchObject({ type: "closed", reason: "graceful" });
    expect(pair.clientEvents.at(-1)).toMatchObject({ type: "closed", reason: "graceful" });
    expect(pair.server.counters.connectionsActive).toBe(0);
    expect(pair.client.counters.connectionsActive).toBe(0);
  });

  test("abortive close and application close codes reach the peer", () => {
    const pair = new Pair({}, {}, 23);
    const { client, server } = connected(pair);
    pair.server.close(server, "application", false, 4242);
    pair.drive(1_000_000);
    expect(pair.clientEvents.at(-1)).toMatchObject({ type: "closed", connection: client, reason: "application", closeCode: 4242 });
    expect(pair.serverEvents.at(-1)).toMatchObject({ type: "closed", reason: "application" });
    expect(pair.client.counters.connectionsClosed).toEqual({ application: 1 });

    const second = new Pair({}, {}, 24);
    const c2 = connected(second);
    second.client.close(c2.client, "aborted", false);
    second.drive(1_000_000);
    expect(second.serverEvents.at(-1)).toMatchObject({ type: "closed", reason: "aborted" });
  });
});

describe("liveness", () => {
  test("keepalives hold an idle connection open", () => {
    const pair = new Pair({}, {}, 31);
    connected(pair);
    pair.drive(120_000_000);
    expect(pair.clientEvents.some((e) => e.type === "closed")).toBe(false);
    expect(pair.serverEvents.some((e) => e.type === "closed")).toBe(false);
    expect(pair.sentCount.toServer).toBeGreaterThan(120 / 5);
  });

  test("a dead peer ends the connection with idle-timeout", () => {
    const pair = new Pair({ idleTimeoutUs: 10_000_000 }, { idleTimeoutUs: 10_000_000 }, 33);
    connected(pair);
    const start = pair.nowUs;
    pair.dropFilter = () => true; // partition: the peer is gone
    pair.drive(30_000_000);
    const closed = pair.clientEvents.find((e) => e.type === "closed");
    expect(closed).toMatchObject({ reason: "idle-timeout" });
    expect(pair.serverEvents.find((e) => e.type === "closed")).toMatchObject({ reason: "idle-timeout" });
    expect(pair.nowUs - start).toBeGreaterThanOrEqual(10_000_000);
    expect(pair.client.counters.connectionsClosed["idle-timeout"]).toBe(1);
  });
});

describe("optimistic-ACK defence", () => {
  test("an ACK for a packet number the sender skipped closes with protocol-violation", () => {
    const pair = new Pair({}, {}, 41);
    const seen: number[] = [];
    let clientId = 0n;
    let lastToClient = 0;
    pair.dropFilter = (direction, bytes) => {
      const decoded = decodeDatagram(bytes, crc32c);
      if (decoded.ok && decoded.packet.type === "initial") clientId = decoded.packet.sourceId;
      if (decoded.ok && decoded.packet.type === "data") {
        if (direction === "toServer") seen.push(decoded.packet.packetNumberLow32);
        else lastToClient = decoded.packet.packetNumberLow32;
      }
      return false;
    };
    const { client } = connected(pair);
    for (let i = 0; i < 400; i++) {
      pair.client.send(client, 0, new Uint8Array(900));
      pair.drive(3_000);
    }
    let skipped = -1;
    for (let i = 1; i < seen.length && skipped < 0; i++) if (seen[i] > seen[i - 1] + 1) skipped = seen[i - 1] + 1;
    expect(skipped).toBeGreaterThan(0);
    const forged = new Uint8Array(1500);
    const length = encodeDatagram(
      { type: "data", destinationId: clientId, packetNumberLow32: lastToClient + 1, frames: [{ kind: "ack", ackDelayUs: 0, ranges: [[skipped, skipped]] }] },
      forged, crc32c,
    );
    pair.client.handleDatagram(pair.nowUs, forged.subarray(0, length), pair.serverAddress);
    pair.drive(1_000_000);
    expect(pair.clientEvents.find((e) => e.type === "closed")).toMatchObject({ reason: "protocol-violation" });
    expect(pair.serverEvents.find((e) => e.type === "closed")).toMatchObject({ reason: "protocol-violation" });
  });

  test("an ACK beyond the largest packet sent closes with protocol-violation", () => {
    const pair = new Pair({}, {}, 43);
    let clientId = 0n;
    pair.dropFilter = (_d, bytes) => {
      const decoded = decodeDatagram(bytes, crc32c);
      if (decoded.ok && decoded.packet.type === "initial") clientId = decoded.packet.sourceId;
      return false;
    };
    connected(pair);
    const forged = new Uint8Array(1500);
    const length = encodeDatagram(
      { type: "data", destinationId: clientId, packetNumberLow32: 500, frames: [{ kind: "ack", ackDelayUs: 0, ranges: [[100_000, 0]] }] },
      forged, crc32c,
    );
    pair.client.handleDatagram(pair.nowUs, forged.subarray(0, length), pair.serverAddress);
    pair.drive(1_000_000);
    expect(pair.clientEvents.find((e) => e.type === "closed")).toMatchObject({ reason: "protocol-violation" });
  });
});

test("unreliable senders get drain once their messages were sent", () => {
  const config = { maxMessageBytes: 16 * KIB, sendBufferBytesPerConnection: 32 * KIB, channelModes: { 2: "unreliable" as const } };
  const pair = new Pair(config, config, 61);
  const { client } = connected(pair);
  let queued = 0;
  for (let i = 0; i < 100 && pair.client.send(client, 2, new Uint8Array(1000)) === "queued"; i++) queued++;
  expect(queued).toBe(32);
  pair.drive(1_000_000);
  expect(pair.clientEvents.filter((e) => e.type === "drain").length).toBe(1);
  expect(pair.client.bufferedBytes(client)).toBe(0);
});

test("no message event follows a connection's closed event (graceful close while the peer streams)", () => {
  const modes = { 2: "unreliable" as const };
  const pair = new Pair({ channelModes: modes }, { channelModes: modes }, 71);
  const { client, server } = connected(pair);
  // One message: the packet that acknowledges it (completing the drain) also carries data.
  pair.client.send(client, 0, new Uint8Array(500));
  pair.client.close(client, "graceful", true);
  for (let step = 0; step < 200; step++) {
    pair.server.send(server, 2, new Uint8Array(200));
    pair.drive(300);
  }
  pair.drive(2_000_000);
  const closedAt = pair.clientEvents.findIndex((e) => e.type === "closed");
  expect(closedAt).toBeGreaterThanOrEqual(0);
  expect(pair.clientEvents.slice(closedAt + 1).filter((e) => e.connection === client)).toEqual([]);
  expect(pair.serverEvents.at(-1)).toMatchObject({ type: "closed", reason: "graceful" });
});
