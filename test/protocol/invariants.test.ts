// Loud failures (src/protocol/invariant.ts): a broken engine invariant throws under
// strictInvariants (tests, simulator); in production it closes only the connection concerned
// with "internal-error", tells the peer, and is counted. Engine time is whole microseconds.
// The invariant is broken here by hand (white-box) since the engine never breaks it itself.
import { describe, expect, test } from "bun:test";
import type { EngineCounters } from "../../src/protocol/api.ts";
import { InvariantViolation } from "../../src/protocol/invariant.ts";
import { Pair } from "./pair.ts";

const text = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);

/** Two connections from one client engine, both established. */
function twoConnections(strict: boolean): { pair: Pair; clientA: number; clientB: number; serverA: number; serverB: number } {
  const pair = new Pair({ strictInvariants: strict }, { strictInvariants: strict });
  const clientA = pair.connect();
  pair.drive(200_000);
  const clientB = pair.connect();
  pair.drive(200_000);
  const connected = pair.serverEvents.filter((e) => e.type === "connected").map((e) => e.connection);
  expect(connected.length).toBe(2);
  return { pair, clientA, clientB, serverA: connected[0]!, serverB: connected[1]! };
}

/** Corrupts the server-side connection's bytes-in-flight: what a double-counted ACK would do. */
function breakBytesInFlight(pair: Pair, serverHandle: number): void {
  const connections = (pair.server as unknown as { connections: Map<number, { recovery: { bytesInFlight: number } }> }).connections;
  connections.get(serverHandle)!.recovery.bytesInFlight = -1200;
}

describe("engine invariants", () => {
  test("production: only the broken connection closes, with internal-error, counted, and the peer is told", () => {
    const { pair, clientA, clientB, serverA, serverB } = twoConnections(false);
    breakBytesInFlight(pair, serverA);
    expect(pair.client.send(clientA, 0, new TextEncoder().encode("to A"))).toBe("queued");
    pair.drive(500_000);
    const counters = pair.server.counters as EngineCounters;
    expect(counters.invariantViolations).toBe(1);
    expect(pair.serverEvents.find((e) => e.type === "closed" && e.connection === serverA)?.reason).toBe("internal-error");
    expect(pair.serverEvents.find((e) => e.type === "closed" && e.connection === serverA)?.message).toContain("bytes in flight -1200 < 0");
    // The CLOSE frame carried reason code 9 to the client.
    expect(pair.clientEvents.find((e) => e.type === "closed" && e.connection === clientA)?.reason).toBe("internal-error");
    // The other connection carries on both ways.
    expect(pair.client.send(clientB, 0, new TextEncoder().encode("to B"))).toBe("queued");
    expect(pair.server.send(serverB, 0, new TextEncoder().encode("from B"))).toBe("queued");
    pair.drive(500_000);
    expect(pair.serverEvents.filter((e) => e.type === "message" && e.connection === serverB).map((e) => text(e.data))).toEqual(["to B"]);
    expect(pair.clientEvents.filter((e) => e.type === "message" && e.connection === clientB).map((e) => text(e.data))).toEqual(["from B"]);
    expect(pair.serverEvents.some((e) => e.type === "closed" && e.connection === serverB)).toBe(false);
  });

  test("strictInvariants: the violation throws to the caller", () => {
    const { pair, clientA, serverA } = twoConnections(true);
    breakBytesInFlight(pair, serverA);
    expect(pair.client.send(clientA, 0, new TextEncoder().encode("to A"))).toBe("queued");
    expect(() => pair.drive(500_000)).toThrow(InvariantViolation);
  });

  test("the thorough check catches bytes in flight that disagree with the packets in flight", () => {
    const { pair, clientA, serverA } = twoConnections(true);
    expect(pair.server.send(serverA, 0, new Uint8Array(100))).toBe("queued");
    pair.flush(); // one packet in flight at the server, not yet acknowledged
    const connections = (pair.server as unknown as { connections: Map<number, { recovery: { bytesInFlight: number } }> }).connections;
    connections.get(serverA)!.recovery.bytesInFlight += 1; // still >= 0: only the walk sees it
    expect(pair.client.send(clientA, 0, new Uint8Array(10))).toBe("queued");
    expect(() => pair.drive(500_000)).toThrow(/bytes in flight \d+, packets in flight hold \d+/);
  });
});

describe("integer microseconds", () => {
  test("strictInvariants: a fractional nowUs throws and says what to do", () => {
    const pair = new Pair();
    expect(() => pair.client.connect(1_000_000.5, pair.serverAddress)).toThrow(/integer microseconds, got 1000000.5: floor the clock/);
  });

  test("production: a fractional nowUs is floored and counted", () => {
    const pair = new Pair({}, { strictInvariants: false });
    pair.nowUs = 1_000_000.25;
    pair.connect();
    pair.nowUs = 1_000_000;
    pair.drive(200_000);
    expect((pair.client.counters as EngineCounters).invariantViolations).toBe(1);
    expect(pair.serverEvents.some((e) => e.type === "connected")).toBe(true);
  });

  test("pollTimeout is always a whole number of microseconds", () => {
    const pair = new Pair();
    const connection = pair.connect();
    pair.drive(200_000);
    for (let i = 0; i < 200; i++) {
      pair.client.send(connection, 0, new Uint8Array(900));
      pair.flush();
      pair.nowUs += 137;
      for (const engine of [pair.client, pair.server]) {
        const deadline = engine.pollTimeout();
        expect(deadline === Infinity || Number.isInteger(deadline)).toBe(true);
      }
    }
  });
});
