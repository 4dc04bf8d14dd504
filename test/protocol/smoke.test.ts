import { expect, test } from "bun:test";
import { Pair } from "./pair.ts";

test("handshake and one message each way", () => {
  const pair = new Pair();
  const client = pair.connect();
  pair.drive(100_000);
  expect(pair.clientEvents.map((e) => e.type)).toContain("connected");
  expect(pair.serverEvents.map((e) => e.type)).toContain("connected");
  const serverConn = pair.serverEvents.find((e) => e.type === "connected")!.connection;
  expect(pair.client.send(client, 0, new TextEncoder().encode("hello"))).toBe("queued");
  expect(pair.server.send(serverConn, 3, new TextEncoder().encode("world"))).toBe("queued");
  pair.drive(100_000);
  expect(new TextDecoder().decode(pair.messages("server")[0])).toBe("hello");
  expect(new TextDecoder().decode(pair.messages("client")[0])).toBe("world");
  expect(pair.client.counters.datagramsSent).toBeLessThan(20);
});

test("an optional crc32cPrefix dependency is used for sealing and checking", () => {
  const { createEngine } = require("../../src/protocol/index.ts") as typeof import("../../src/protocol/index.ts");
  const { crc32c, seededRandom } = require("./pair.ts") as typeof import("./pair.ts");
  let calls = 0;
  const crc32cPrefix = (data: Uint8Array, length: number) => {
    calls++;
    return crc32c(data.subarray(0, length));
  };
  const server = createEngine({ role: "server" }, { crc32c, crc32cPrefix, randomBytes: seededRandom(1) });
  const client = createEngine({ role: "client" }, { crc32c, randomBytes: seededRandom(2) });
  const out = new Uint8Array(1500);
  const info = { length: 0, to: null as unknown };
  const serverAddress = { family: 4 as const, host: "10.0.0.1", port: 1 };
  const clientAddress = { family: 4 as const, host: "10.0.0.2", port: 2 };
  client.connect(0, serverAddress);
  for (let round = 0; round < 4; round++) {
    while (client.pollTransmit(round, out, info as never)) server.handleDatagram(round, out.slice(0, info.length), clientAddress);
    while (server.pollTransmit(round, out, info as never)) client.handleDatagram(round, out.slice(0, info.length), serverAddress);
  }
  expect(server.counters.handshakesCompleted).toBe(1);
  expect(client.counters.handshakesCompleted).toBe(1);
  expect(calls).toBeGreaterThanOrEqual(4);
  expect(server.counters.drops).toEqual({});
});
