// The endpoint-wide memory budget (issue 13, docs/LIMITS.md): every per-connection limit is far
// above the budget here, so only the budget can explain what is refused or closed.
import { describe, expect, test } from "bun:test";
import { Pair } from "./pair.ts";

const KIB = 1024;
const BUDGET = 64 * KIB;

function serverConnections(pair: Pair): number[] {
  return pair.serverEvents.filter((e) => e.type === "connected").map((e) => e.connection);
}

/** Two connections from one client engine (two client IDs, one address). */
function twoConnections(pair: Pair): number[] {
  pair.connect();
  pair.connect();
  pair.drive(200_000);
  const connections = serverConnections(pair);
  expect(connections.length).toBe(2);
  return connections;
}

function closedEvent(pair: Pair, connection: number) {
  return pair.serverEvents.find((e) => e.type === "closed" && e.connection === connection);
}

describe("memory budget", () => {
  test("send queues: over the budget, send() is refused on every connection, and drain follows when it has room", () => {
    const pair = new Pair({ memoryBudgetBytes: BUDGET, maxMessageBytes: 8 * KIB, sendBufferBytesPerConnection: 4 * 1024 * KIB }, {}, 51);
    const [a, b] = twoConnections(pair);
    pair.dropFilter = (direction) => direction === "toServer"; // no ACK comes back: bytes stay held
    let queued = 0;
    while (queued < 1000 && pair.server.send(a, 0, new Uint8Array(1000)) === "queued") queued++;
    expect(queued).toBe(65); // 65 * 1000 <= 64 KiB < 66 * 1000, far below the 4 MiB per connection
    expect(pair.server.send(b, 0, new Uint8Array(1000))).toBe("buffer-full"); // server-wide
    expect(pair.server.send(b, 0, new Uint8Array(500))).toBe("queued"); // what still fits
    expect(pair.server.counters.limitRefusals["memory-budget"]).toBe(2);
    expect(pair.server.counters.memoryHeldBytes).toBe(65_500);
    pair.drive(500_000);
    expect(pair.serverEvents.filter((e) => e.type === "drain")).toEqual([]);
    pair.dropFilter = null; // ACKs arrive: the queues empty, the budget has room again
    pair.drive(3_000_000);
    const drained = pair.serverEvents.filter((e) => e.type === "drain").map((e) => e.connection).sort();
    expect(drained).toEqual([a, b].sort());
    expect(pair.server.send(b, 0, new Uint8Array(1000))).toBe("queued");
    pair.drive(500_000);
    expect(pair.messages("client").length).toBe(67);
    expect(pair.server.counters.connectionsClosed).toEqual({});
  });

  test("undelivered events count: an application that stops reading makes sends wait", () => {
    const pair = new Pair({ memoryBudgetBytes: BUDGET, maxMessageBytes: 8 * KIB }, {}, 52);
    const [a] = twoConnections(pair);
    pair.pollServerEvents = false; // messages pile up in the server's event queue
    for (let i = 0; i < 80; i++) expect(pair.client.send(1, 0, new Uint8Array(1000))).toBe("queued");
    pair.drive(1_000_000);
    expect(pair.server.counters.memoryHeldBytes).toBeGreaterThan(BUDGET);
    expect(pair.server.send(a, 0, new Uint8Array(100))).toBe("buffer-full");
    pair.pollServerEvents = true;
    pair.drive(100_000);
    expect(pair.messages("server").length).toBe(80);
    expect(pair.server.send(a, 0, new Uint8Array(100))).toBe("queued");
  });

  test("over the budget for the grace period, the connection holding the most closes as memory-budget", () => {
    const pair = new Pair({ memoryBudgetBytes: BUDGET, maxMessageBytes: 8 * KIB, memoryBudgetGraceUs: 2_000_000 }, {}, 53);
    const [a, b] = twoConnections(pair);
    pair.server.setApplicationHeldBytes!(a, 10 * KIB); // e.g. the example app's echo backlog
    pair.server.setApplicationHeldBytes!(b, 70 * KIB);
    pair.drive(1_500_000);
    expect(closedEvent(pair, a)).toBeUndefined();
    expect(closedEvent(pair, b)).toBeUndefined();
    pair.drive(1_000_000);
    expect(closedEvent(pair, b)).toMatchObject({ reason: "memory-budget" });
    expect(closedEvent(pair, b)!.message).toContain("memory budget");
    expect(closedEvent(pair, a)).toBeUndefined(); // closing b alone brings the total under
    pair.drive(5_000_000);
    expect(pair.server.counters.connectionsClosed).toEqual({ "memory-budget": 1 });
    expect(pair.server.counters.memoryHeldBytes).toBe(10 * KIB);
    expect(pair.clientEvents.find((e) => e.type === "closed")).toMatchObject({ reason: "memory-budget" });
    expect(pair.server.connectionStats(a)).not.toBeNull();
  });

  test("back under the budget within the grace period: nobody is closed", () => {
    const pair = new Pair({ memoryBudgetBytes: BUDGET, maxMessageBytes: 8 * KIB, memoryBudgetGraceUs: 2_000_000 }, {}, 54);
    const [a] = twoConnections(pair);
    pair.server.setApplicationHeldBytes!(a, 100 * KIB);
    pair.drive(1_500_000);
    pair.server.setApplicationHeldBytes!(a, 1 * KIB);
    pair.drive(10_000_000);
    expect(pair.server.counters.connectionsClosed).toEqual({});
  });
});
