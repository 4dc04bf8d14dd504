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
