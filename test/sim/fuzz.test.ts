// Hostile input in the middle of live connections: copies of real datagrams, mutated and then
// re-sealed with a valid CRC32C trailer (docs/PROTOCOL.md §2: little-endian CRC32C of every byte
// before it), so they get past the checksum and into the parsers. The engines must never throw,
// must keep every limit, and must end with nothing active once everything has closed or timed out.
// Without cryptography a forged frame may legitimately change what is delivered, so ledger
// violations are counted here, not failed.

import { expect, setDefaultTimeout, test } from "bun:test";
import type { DeliveryMode } from "../../src/protocol/api.ts";
import { crc32c } from "./checksum.ts";
import { Simulation, type SimConnection } from "./harness.ts";
import type { Prng } from "./prng.ts";
import { impaired, scenarioSeed, settle } from "./scenarios.ts";

// Scenarios take 0.1-2 s alone; leave room for a busy two-core machine.
setDefaultTimeout(30000);

const checksumBytes = 4;

/** A mutated copy of `original` with a valid CRC32C trailer. */
export function forge(prng: Prng, original: Uint8Array): Uint8Array {
  let body: Uint8Array = original.slice(0, Math.max(1, original.length - checksumBytes));
  switch (prng.below(6)) {
    case 0: // a few random bytes anywhere
      for (let i = prng.between(1, 8); i > 0; i--) body[prng.below(body.length)] = prng.below(256);
      break;
    case 1: // truncated
      body = body.slice(0, prng.between(1, body.length));
      break;
    case 2: // extended with random bytes
      body = concat(body, randomBytes(prng, prng.between(1, 64)));
      break;
    case 3: // another packet type
      body[0] = prng.below(256);
      break;
    case 4: // extreme values where lengths, varints and numbers live
      for (let i = prng.between(1, 4); i > 0; i--) body[prng.below(body.length)] = prng.chance(0.5) ? 0xff : 0x00;
      break;
    default: // same length, random content behind the original first byte
      body = concat(body.subarray(0, 1), randomBytes(prng, body.length - 1));
  }
  const sealed = new Uint8Array(body.length + checksumBytes);
  sealed.set(body);
  new DataView(sealed.buffer).setUint32(body.length, crc32c(body) >>> 0, true);
  return sealed;
}

function randomBytes(prng: Prng, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  prng.fillBytes(bytes);
  return bytes;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

const modes: DeliveryMode[] = ["reliable-ordered", "reliable-unordered", "unreliable", "unreliable-sequenced"];

function fuzzRun(seed: number): { forged: number; violations: number; drops: Record<string, number> } {
  const simulation = new Simulation("forged datagrams", seed, impaired({ delayUs: 5_000, jitterMeanUs: 1_000, lossRate: 0.02 }));
  simulation.forgeryTolerated = true;
  const config = { idleTimeoutUs: 3e6, keepaliveIntervalUs: 1e6, handshakeTimeoutUs: 3e6, channelModes: { 0: modes[0], 1: modes[1], 2: modes[2], 3: modes[3] } };
  const server = simulation.addEndpoint({ name: "server", role: "server", config });
  const client = simulation.addEndpoint({ name: "client", role: "client", config });
  const fuzzPrng = simulation.prng.fork();
  let forged = 0;
  simulation.observeTransmit = (from, to, bytes) => {
    if (!fuzzPrng.chance(0.3)) return;
    forged++;
    simulation.inject(from.address, to, forge(fuzzPrng, bytes));
  };
  const plan = (connection: SimConnection, sender: string, receiver: string) => {
    for (let channel = 0; channel < 4; channel++) {
      const flow = simulation.ledger.createFlow(sender, receiver, channel, modes[channel]!);
      simulation.plan(connection, flow, 30, () => fuzzPrng.between(20, 3000));
    }
  };
  server.onConnected = (connection) => plan(connection, "server", "client");
  simulation.at(0, () => plan(simulation.connect(client, server), "client", "server"));
  simulation.runFor("fuzz", 5e6);
  for (const endpoint of [client, server]) {
    for (const connection of endpoint.openConnections()) simulation.close(connection, "aborted", false);
  }
  simulation.observeTransmit = null;
  settle(simulation, [client, server]);
  const drops: Record<string, number> = {};
  for (const endpoint of [client, server]) {
    for (const [reason, count] of Object.entries(endpoint.engine.counters.drops)) drops[reason] = (drops[reason] ?? 0) + count;
  }
  return { forged, violations: simulation.ledgerViolations, drops };
}

test("sim: forged datagrams with valid checksums never make an engine throw or leak", () => {
  const base = scenarioSeed(41);
  const runs = process.env.SIM_SEED ? 1 : 20;
  let forged = 0;
  let violations = 0;
  const drops: Record<string, number> = {};
  for (let i = 0; i < runs; i++) {
    const result = fuzzRun((base + i) >>> 0);
    forged += result.forged;
    violations += result.violations;
    for (const [reason, count] of Object.entries(result.drops)) drops[reason] = (drops[reason] ?? 0) + count;
  }
  console.log(`[forged datagrams] seeds ${base}..${base + runs - 1}: ${forged} forged datagrams, ${violations} ledger violations tolerated, engine drops ${JSON.stringify(drops)}`);
  expect(forged).toBeGreaterThan(100);
  // The forgeries reached the parsers: most were turned away for reasons other than the checksum.
  const nonChecksumDrops = Object.entries(drops).reduce((sum, [reason, count]) => (reason === "checksum" ? sum : sum + count), 0);
  expect(nonChecksumDrops).toBeGreaterThan(0);
});
