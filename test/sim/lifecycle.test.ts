// Connection lifecycle: dead peers, keepalives, graceful and abortive close, handshake timeout,
// and the determinism every other scenario relies on (one seed, one run).

import { expect, setDefaultTimeout, test } from "bun:test";
import { addressKey, Simulation, type SimConnection } from "./harness.ts";
import { checkNoUndelivered, connectPair, formatSummary, impaired, runTransfer, scenarioSeed, settle } from "./scenarios.ts";

// Scenarios take 0.1-2 s alone; leave room for a busy two-core machine.
setDefaultTimeout(30000);

const idleTimeoutUs = 5_000_000;
const keepaliveIntervalUs = 1_000_000;
/** Slack on idle-timeout timing: a few probe timeouts' worth. */
const idleSlackUs = 3_000_000;

function deliverSome(pair: ReturnType<typeof connectPair>, count: number): void {
  const { simulation, clientConnection } = pair;
  const flow = simulation.ledger.createFlow("client", "server", 0, "reliable-ordered");
  simulation.plan(clientConnection, flow, count, 500);
  simulation.runUntil("exchange", () => clientConnection.outboxEmpty && simulation.ledger.reliableComplete(), { virtualUs: 30e6 });
}

for (const vanishing of ["server", "client"] as const) {
  test(`sim: the ${vanishing} vanishes; keepalives held the idle connection, the survivor reports idle-timeout`, () => {
    const pair = connectPair(`${vanishing} vanishes`, scenarioSeed(21), impaired({ delayUs: 20_000 }), { idleTimeoutUs, keepaliveIntervalUs });
    const { simulation } = pair;
    deliverSome(pair, 20);
    // Idle for three idle timeouts: keepalives must keep both sides open.
    simulation.runFor("idle", 3 * idleTimeoutUs);
    expect(pair.clientConnection.closed).toBeNull();
    expect(pair.serverConnection.closed).toBeNull();

    const gone = vanishing === "server" ? pair.server : pair.client;
    const survivor = vanishing === "server" ? pair.client : pair.server;
    const survivorConnection: SimConnection = vanishing === "server" ? pair.clientConnection : pair.serverConnection;
    simulation.vanish(gone);
    simulation.runUntil("dead peer", () => survivorConnection.closed !== null, { virtualUs: idleTimeoutUs + 2 * idleSlackUs });
    const closed = survivorConnection.closed!;
    expect(closed.reason).toBe("idle-timeout");
    const silentUs = closed.atUs - survivor.lastHeardUs.get(addressKey(gone.address))!;
    console.log(`[${vanishing} vanishes] seed=${simulation.seed}: ${survivor.name} closed idle-timeout ${(silentUs / 1e6).toFixed(3)} s after last hearing from the ${vanishing}`);
    expect(silentUs + 1).toBeGreaterThanOrEqual(idleTimeoutUs); // 1 us: fractional times round
    expect(silentUs).toBeLessThanOrEqual(idleTimeoutUs + idleSlackUs);
    settle(simulation, [survivor]);
  });
}

test("sim: graceful close drains everything queued before it, at 5% loss", () => {
  const pair = connectPair("graceful close", scenarioSeed(22), impaired({ delayUs: 20_000, jitterMeanUs: 2_000, lossRate: 0.05 }));
  const { simulation, client, server, clientConnection, serverConnection } = pair;
  const flow = simulation.ledger.createFlow("client", "server", 0, "reliable-ordered");
  simulation.plan(clientConnection, flow, 200, 1000);
  simulation.runUntil("queue", () => clientConnection.outboxEmpty, { virtualUs: 60e6 });
  const unacknowledgedBytes = client.engine.bufferedBytes(clientConnection.handle);
  simulation.close(clientConnection, "graceful", true);
  expect(client.engine.send(clientConnection.handle, 0, new Uint8Array(100))).toBe("closed");
  simulation.runUntil("close", () => clientConnection.closed !== null && serverConnection.closed !== null, { virtualUs: 120e6 });
  console.log(`[graceful close] seed=${simulation.seed}: closed with ${unacknowledgedBytes} B unacknowledged; both closed by ${(simulation.nowUs / 1e6).toFixed(3)} s`);
  expect(unacknowledgedBytes).toBeGreaterThan(0); // the close really had something to drain
  // The ledger fails any message that arrives after the server's closed event, so complete here
  // means everything arrived before it.
  checkNoUndelivered(simulation);
  expect(clientConnection.closed!.reason).toBe("graceful");
  expect(serverConnection.closed!.reason).toBe("graceful");
  settle(simulation, [client, server]);
});

test("sim: abortive close ends both sides promptly without draining", () => {
  const pair = connectPair("abortive close", scenarioSeed(23), impaired({ delayUs: 20_000 }));
  const { simulation, client, server, clientConnection, serverConnection } = pair;
  const flow = simulation.ledger.createFlow("client", "server", 0, "reliable-ordered");
  simulation.plan(clientConnection, flow, 100, 1000);
  simulation.runUntil("queue", () => clientConnection.outboxEmpty, { virtualUs: 60e6 });
  const closedAtUs = simulation.nowUs;
  simulation.close(clientConnection, "aborted", false);
  simulation.runUntil("close", () => clientConnection.closed !== null && serverConnection.closed !== null, { virtualUs: 10e6 });
  expect(clientConnection.closed!.reason).toBe("aborted");
  expect(clientConnection.closed!.atUs - closedAtUs).toBeLessThanOrEqual(1_000);
  expect(serverConnection.closed!.reason).toBe("aborted");
  // One-way delay is 20 ms: the CLOSE must not wait behind the queued data.
  expect(serverConnection.closed!.atUs - closedAtUs).toBeLessThanOrEqual(100_000);
  settle(simulation, [client, server]);
});

test("sim: connecting to a silent address ends in handshake-timeout", () => {
  const simulation = new Simulation("handshake-timeout", scenarioSeed(24), impaired({ delayUs: 20_000 }));
  const client = simulation.addEndpoint({ name: "client", role: "client" });
  const connection = simulation.connect(client, { family: 4, host: "10.9.9.9", port: 9 });
  const limitUs = client.config.handshakeTimeoutUs;
  simulation.runUntil("timeout", () => connection.closed !== null, { virtualUs: limitUs + 5e6 });
  expect(connection.closed!.reason).toBe("handshake-timeout");
  expect(connection.connectedAtUs).toBe(-1);
  expect(connection.closed!.atUs).toBeGreaterThanOrEqual(limitUs * 0.9);
  expect(connection.closed!.atUs).toBeLessThanOrEqual(limitUs + 2e6);
  settle(simulation, [client]);
});

test("sim: one seed replays the same run; another seed does not", () => {
  const run = (seed: number) => {
    const result = runTransfer("one seed replays", seed, {
      impairments: impaired({ delayUs: 10_000, jitterMeanUs: 3_000, lossRate: 0.05, duplicateRate: 0.02, corruptRate: 0.02 }),
      flows: [
        { direction: "up", channel: 0, mode: "reliable-ordered", count: 200, lengthBytes: (prng) => prng.between(20, 3000) },
        { direction: "down", channel: 1, mode: "unreliable", count: 200, lengthBytes: 300 },
      ],
      transferLimitUs: 120e6,
    });
    return { trace: result.simulation.network.traceHash, endUs: result.simulation.nowUs, steps: result.simulation.steps, summary: formatSummary(result) };
  };
  const seed = scenarioSeed(25);
  const first = run(seed);
  const again = run(seed);
  const other = run((seed + 1) >>> 0);
  console.log(first.summary);
  expect(again).toEqual(first);
  expect(other.trace).not.toBe(first.trace);
});

test("sim: closing while the peer still streams: no event after closed on either side", () => {
  // The client sends a little and closes gracefully while the server keeps streaming to it; the
  // datagram that completes the client's drain often carries a server message too. The harness
  // fails any message event that follows a closed event.
  const seed = scenarioSeed(30); // FINDINGS.md 5: this seed shows a message after closed
  const pair = connectPair("close while streaming", seed, impaired({ delayUs: 50_000, lossRate: 0.03 }), { channelModes: { 1: "unreliable" } });
  const { simulation, clientConnection, serverConnection } = pair;
  simulation.plan(serverConnection, simulation.ledger.createFlow("server", "client", 1, "unreliable"), 2000, 1000);
  simulation.runFor("stream", 100_000);
  // Reliable data to drain: the close completes when its last ACK arrives, piggybacked on a
  // datagram that also carries stream data.
  simulation.plan(clientConnection, simulation.ledger.createFlow("client", "server", 0, "reliable-ordered"), 20, 1000);
  simulation.runUntil("queue", () => clientConnection.outboxEmpty, { virtualUs: 1e6 });
  simulation.close(clientConnection, "graceful", true);
  simulation.runUntil("close", () => clientConnection.closed !== null && serverConnection.closed !== null, { virtualUs: 60e6 });
  expect(clientConnection.closed!.reason).toBe("graceful");
  settle(simulation, [pair.client, pair.server]);
});
