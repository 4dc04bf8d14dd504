// Many clients on one server engine at once: the server demultiplexes, keeps per-connection
// limits, and every connection's messages reach the right peer (the ledger checks sender and
// receiver of every delivery).

import { expect, test } from "bun:test";
import type { DeliveryMode } from "../../src/protocol/api.ts";
import { Simulation, type SimConnection, type SimEndpoint } from "./harness.ts";
import { checkNoUndelivered, impaired, scenarioSeed, settle } from "./scenarios.ts";

test("sim: 12 clients transfer both ways through one server at 3% loss", () => {
  const clientCount = 12;
  const simulation = new Simulation("12 clients", scenarioSeed(51), impaired({ delayUs: 15_000, jitterMeanUs: 3_000, lossRate: 0.03, duplicateRate: 0.01 }));
  const modes: Partial<Record<number, DeliveryMode>> = { 0: "reliable-ordered", 1: "reliable-unordered", 2: "unreliable" };
  const server = simulation.addEndpoint({ name: "server", role: "server", config: { channelModes: modes } });
  const workloadPrng = simulation.prng.fork();
  const serverConnections: SimConnection[] = [];
  server.onConnected = (connection) => {
    serverConnections.push(connection);
    for (let channel = 0; channel < 3; channel++) {
      const flow = simulation.ledger.createFlow("server", connection.peerName, channel, modes[channel]!);
      simulation.plan(connection, flow, 40, () => workloadPrng.between(20, 4000));
    }
  };
  const clients: SimEndpoint[] = [];
  const clientConnections: SimConnection[] = [];
  for (let i = 0; i < clientCount; i++) {
    const client = simulation.addEndpoint({ name: `client${i}`, role: "client", config: { channelModes: modes } });
    clients.push(client);
    simulation.at(i * 5_000, () => {
      const connection = simulation.connect(client, server);
      clientConnections.push(connection);
      for (let channel = 0; channel < 3; channel++) {
        const flow = simulation.ledger.createFlow(client.name, "server", channel, modes[channel]!);
        simulation.plan(connection, flow, 40, () => workloadPrng.between(20, 4000));
      }
    });
  }
  const allConnections = () => [...clientConnections, ...serverConnections];
  simulation.runUntil(
    "transfer",
    () =>
      serverConnections.length === clientCount &&
      clientConnections.length === clientCount &&
      allConnections().every((c) => c.outboxEmpty && c.closed === null) &&
      simulation.ledger.reliableComplete(),
    { virtualUs: 120e6 },
  );
  checkNoUndelivered(simulation);
  expect(server.engine.counters.connectionsActive).toBe(clientCount);
  // Half the clients close, then the server closes the rest.
  const closingClients = new Set(clients.slice(0, clientCount / 2));
  for (const connection of clientConnections) if (closingClients.has(connection.endpoint)) simulation.close(connection, "graceful", true);
  for (const connection of serverConnections) {
    const peer = simulation.endpointAt(connection.remote);
    if (peer !== undefined && !closingClients.has(peer)) simulation.close(connection, "graceful", true);
  }
  simulation.runUntil("close", () => allConnections().every((c) => c.closed !== null), { virtualUs: 120e6 });
  const reasons = new Set(allConnections().map((c) => c.closed!.reason));
  console.log(`[12 clients] seed=${simulation.seed}: all delivered by ${(simulation.nowUs / 1e6).toFixed(2)} s; close reasons ${[...reasons].join(",")}`);
  expect([...reasons]).toEqual(["graceful"]);
  settle(simulation, [server, ...clients]);
});
