// Handshakes under heavy loss, address validation (the 3x amplification limit, checked by the
// harness on every datagram a server sends), spoofed and garbage input, and the connection limit.

import { expect, setDefaultTimeout, test } from "bun:test";
import type { PeerAddress } from "../../src/protocol/api.ts";
import { Simulation, type SimConnection, type SimEndpoint } from "./harness.ts";
import { impaired, scenarioSeed, settle } from "./scenarios.ts";

// Scenarios take 0.1-2 s alone; leave room for a busy two-core machine.
setDefaultTimeout(30000);

/** `count` clients connect to one server at staggered times; returns their connections. */
function connectMany(simulation: Simulation, server: SimEndpoint, count: number): { clients: SimEndpoint[]; connections: SimConnection[] } {
  const clients: SimEndpoint[] = [];
  const connections: SimConnection[] = [];
  for (let i = 0; i < count; i++) {
    const client = simulation.addEndpoint({ name: `client${i}`, role: "client" });
    clients.push(client);
    simulation.at(i * 10_000, () => connections.push(simulation.connect(client, server)));
  }
  return { clients, connections };
}

test("sim: 50 handshakes at 30% loss both ways all complete", () => {
  const simulation = new Simulation("handshakes at 30% loss", scenarioSeed(31), impaired({ delayUs: 25_000, jitterMeanUs: 5_000, lossRate: 0.3 }));
  const server = simulation.addEndpoint({ name: "server", role: "server" });
  let serverConnected = 0;
  server.onConnected = () => serverConnected++;
  const { clients, connections } = connectMany(simulation, server, 50);
  simulation.runUntil(
    "handshakes",
    () =>
      connections.length === 50 &&
      connections.every((c) => c.connectedAtUs >= 0 || c.closed !== null) &&
      serverConnected >= connections.filter((c) => c.connectedAtUs >= 0).length,
    { virtualUs: 120e6 },
  );
  const failed = connections.filter((c) => c.connectedAtUs < 0);
  const slowestUs = Math.max(...connections.map((c) => c.connectedAtUs));
  console.log(
    `[handshakes at 30% loss] seed=${simulation.seed}: ${50 - failed.length}/50 completed, slowest at ${(slowestUs / 1e6).toFixed(2)} s, ` +
      `max amplification ratio before validation ${simulation.amplificationRatioMax.toFixed(2)}`,
  );
  expect(failed.map((c) => c.closed?.reason)).toEqual([]);
  for (const connection of connections) simulation.close(connection, "graceful", true);
  simulation.runUntil("close", () => connections.every((c) => c.closed !== null), { virtualUs: 120e6 });
  settle(simulation, [server, ...clients]);
});

test("sim: amplification: a server never sends more than 3x what it received to an unvalidated address", () => {
  // Real clients handshake through loss and duplication (the harness checks each send), while
  // an attacker replays a genuine first datagram from 200 spoofed addresses and sends garbage.
  const simulation = new Simulation("amplification", scenarioSeed(32), impaired({ delayUs: 20_000, jitterMeanUs: 3_000, lossRate: 0.1, duplicateRate: 0.1 }));
  const server = simulation.addEndpoint({ name: "server", role: "server" });
  let serverConnected = 0;
  server.onConnected = () => serverConnected++;
  let firstDatagram: Uint8Array | null = null;
  simulation.observeTransmit = (from, _to, bytes) => {
    if (firstDatagram === null && from.config.role === "client") firstDatagram = bytes.slice();
  };
  const { connections } = connectMany(simulation, server, 10);
  simulation.runUntil("first datagram", () => firstDatagram !== null, { virtualUs: 1e6 });
  const spoofed: PeerAddress[] = [];
  const attackerPrng = simulation.prng.fork();
  for (let i = 0; i < 200; i++) {
    const address: PeerAddress = { family: 4, host: `192.0.2.${i % 250}`, port: 10_000 + i };
    spoofed.push(address);
    simulation.inject(address, server.address, firstDatagram!);
    const garbage = new Uint8Array(attackerPrng.between(1, 1400));
    attackerPrng.fillBytes(garbage);
    simulation.inject(address, server.address, garbage);
    simulation.inject(address, server.address, firstDatagram!.subarray(0, attackerPrng.between(1, firstDatagram!.length - 1)));
  }
  simulation.runUntil("handshakes", () => connections.every((c) => c.connectedAtUs >= 0), { virtualUs: 60e6 });
  simulation.runFor("aftermath", 20e6);
  console.log(`[amplification] seed=${simulation.seed}: max sent/received to an unvalidated address ${simulation.amplificationRatioMax.toFixed(2)}; server drops ${JSON.stringify(server.engine.counters.drops)}`);
  expect(simulation.amplificationRatioMax).toBeLessThanOrEqual(3);
  // The engine's own account, where it keeps one, must agree with the limit too.
  const { unvalidatedBytesReceived, unvalidatedBytesSent } = server.engine.counters;
  if (unvalidatedBytesReceived !== undefined && unvalidatedBytesSent !== undefined) {
    expect(unvalidatedBytesReceived).toBeGreaterThan(0);
    expect(unvalidatedBytesSent).toBeLessThanOrEqual(3 * unvalidatedBytesReceived);
  }
  if (serverConnected !== 10) simulation.fail(`server reported ${serverConnected} connections for 10 real clients: spoofed addresses got connections`);
  expect(server.engine.counters.connectionsActive).toBe(10);
});

test("sim: a full server refuses the extra client with server-full", () => {
  const simulation = new Simulation("server-full", scenarioSeed(33), impaired({ delayUs: 10_000 }));
  const server = simulation.addEndpoint({ name: "server", role: "server", config: { maxConnections: 2 } });
  let serverConnected = 0;
  server.onConnected = () => serverConnected++;
  const { clients, connections } = connectMany(simulation, server, 3);
  simulation.runUntil("connect", () => connections.length === 3 && connections.every((c) => c.connectedAtUs >= 0 || c.closed !== null), { virtualUs: 60e6 });
  expect(connections.slice(0, 2).every((c) => c.connectedAtUs >= 0)).toBe(true);
  expect(connections[2]!.closed?.reason).toBe("server-full");
  expect(serverConnected).toBe(2);
  expect(server.engine.counters.connectionsActive).toBe(2);
  for (const connection of connections.slice(0, 2)) simulation.close(connection, "graceful", true);
  simulation.runUntil("close", () => connections.every((c) => c.closed !== null), { virtualUs: 60e6 });
  settle(simulation, [server, ...clients]);
});
