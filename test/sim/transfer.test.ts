// Bulk transfer scenarios on impaired paths. Each prints a one-line summary with its seed;
// a failure message carries the seed and the command to replay it (SIM_SEED=...).

import { expect, setDefaultTimeout, test } from "bun:test";
import { checkCorruptionCaught, closeAndSettle, formatSummary, impaired, runTransfer, scenarioSeed } from "./scenarios.ts";

// Scenarios take 0.1-2 s alone; leave room for a busy two-core machine.
setDefaultTimeout(30000);

const megabyte = 1_000_000;

test("sim: handshake and a small exchange on a clean path", () => {
  const result = runTransfer("handshake", scenarioSeed(1), {
    impairments: impaired({ delayUs: 10_000 }),
    flows: [
      { direction: "up", channel: 0, mode: "reliable-ordered", count: 10, lengthBytes: 100 },
      { direction: "down", channel: 0, mode: "reliable-ordered", count: 10, lengthBytes: 100 },
    ],
    transferLimitUs: 10e6,
  });
  console.log(formatSummary(result));
  // A cookie handshake takes two round trips of 20 ms; allow a third for the server's reply.
  expect(result.handshakeUs).toBeLessThanOrEqual(60_000);
});

test("sim: 10 MB transfer", () => {
  const result = runTransfer("10 MB transfer", scenarioSeed(2), {
    impairments: impaired({ delayUs: 10_000, jitterMeanUs: 200 }),
    flows: [{ direction: "up", channel: 0, mode: "reliable-ordered", count: 10 * 256, lengthBytes: 4096 }],
    transferLimitUs: 120e6,
    closer: "none",
  });
  const stats = result.client.engine.connectionStats(result.clientConnection.handle)!;
  console.log(`${formatSummary(result)}; declared lost ${stats.packetsLost}, spurious ${stats.spuriousRetransmissions}`);
  expect(result.reliableBytes).toBe(10 * 256 * 4096);
  // The link loses nothing (jitter only reorders), so every loss the sender declared was spurious.
  expect(result.simulation.network.counters.dropped).toEqual({});
  expect(stats.spuriousRetransmissions).toBe(stats.packetsLost);
  closeAndSettle(result, "client", ["graceful"]);
});

test("sim: transfer at 2% loss both ways", () => {
  const result = runTransfer("2% loss", scenarioSeed(3), {
    impairments: impaired({ delayUs: 20_000, jitterMeanUs: 2_000, lossRate: 0.02 }),
    flows: [
      { direction: "up", channel: 0, mode: "reliable-ordered", count: 2000, lengthBytes: 1000 },
      { direction: "down", channel: 1, mode: "reliable-ordered", count: 1000, lengthBytes: 1000 },
    ],
    transferLimitUs: 120e6,
  });
  console.log(formatSummary(result));
  expect(result.simulation.network.counters.dropped.loss).toBeGreaterThan(0);
});

for (const corruptRate of [0.02, 0.3]) {
  test(`sim: transfer with ${corruptRate * 100}% corruption, every corrupted datagram caught by CRC32C`, () => {
    const result = runTransfer(`${corruptRate * 100}% corruption`, scenarioSeed(4), {
      impairments: impaired({ delayUs: 10_000, jitterMeanUs: 1_000, corruptRate }),
      flows: [
        { direction: "up", channel: 0, mode: "reliable-ordered", count: corruptRate > 0.1 ? 300 : 1000, lengthBytes: 1000 },
        { direction: "down", channel: 0, mode: "reliable-ordered", count: 200, lengthBytes: 700 },
      ],
      transferLimitUs: 300e6,
    });
    console.log(formatSummary(result));
    expect(result.client.corruptedDelivered + result.server.corruptedDelivered).toBeGreaterThan(0);
    checkCorruptionCaught(result.simulation, [result.client, result.server]);
  });
}

test("sim: 750 ms one-way delay", () => {
  const result = runTransfer("750 ms one-way delay", scenarioSeed(5), {
    impairments: impaired({ delayUs: 750_000, jitterMeanUs: 5_000 }),
    flows: [
      { direction: "up", channel: 0, mode: "reliable-ordered", count: 500, lengthBytes: 1000 },
      { direction: "down", channel: 0, mode: "reliable-ordered", count: 100, lengthBytes: 1000 },
    ],
    transferLimitUs: 300e6,
  });
  console.log(formatSummary(result));
  expect(result.handshakeUs).toBeGreaterThanOrEqual(1_500_000); // at least one round trip of 1.5 s: the delay was real
});

test("sim: a 2 s blackhole in the middle of a transfer", () => {
  const blackholes = [{ startUs: 800_000, endUs: 2_800_000 }];
  const result = runTransfer("2 s blackhole", scenarioSeed(6), {
    impairments: impaired({ delayUs: 20_000, bandwidthBytesPerSecond: 1 * megabyte, queueBytesMax: 100_000, blackholes }),
    flows: [{ direction: "up", channel: 0, mode: "reliable-ordered", count: 3000, lengthBytes: 1000 }],
    transferLimitUs: 120e6,
  });
  console.log(formatSummary(result));
  expect(result.simulation.network.counters.dropped.blackhole).toBeGreaterThan(0);
  expect(result.handshakeUs + result.transferUs).toBeGreaterThan(2_800_000);
});

for (const congestionControl of ["newreno", "cubic", "adaptive", "bbr"] as const) {
  test(`sim: bandwidth cap with a bounded queue (tail drop), ${congestionControl}`, () => {
    const rateBytesPerSecond = 1.25 * megabyte; // 10 Mbit/s
    const result = runTransfer(`bandwidth cap ${congestionControl}`, scenarioSeed(7), {
      impairments: impaired({ delayUs: 20_000, bandwidthBytesPerSecond: rateBytesPerSecond, queueBytesMax: 64_000 }),
      flows: [{ direction: "up", channel: 0, mode: "reliable-ordered", count: 4000, lengthBytes: 1000 }],
      clientConfig: { congestionControl },
      serverConfig: { congestionControl },
      transferLimitUs: 120e6,
    });
    const goodputBytesPerSecond = result.reliableBytes / (result.transferUs / 1e6);
    console.log(`${formatSummary(result)}; goodput ${((100 * goodputBytesPerSecond) / rateBytesPerSecond).toFixed(0)}% of the cap`);
    // Congestion control must use a fair share of the bottleneck, not collapse under tail drop.
    expect(goodputBytesPerSecond).toBeGreaterThan(0.4 * rateBytesPerSecond);
  });
}

test("sim: small path MTU (1200, the protocol minimum) with an engine MTU to match", () => {
  const result = runTransfer("small path MTU", scenarioSeed(8), {
    impairments: impaired({ delayUs: 10_000, pathMtuBytes: 1200, lossRate: 0.01 }),
    flows: [
      { direction: "up", channel: 0, mode: "reliable-ordered", count: 200, lengthBytes: (prng) => prng.between(20, 5000) },
      { direction: "down", channel: 0, mode: "reliable-ordered", count: 200, lengthBytes: (prng) => prng.between(20, 5000) },
    ],
    clientConfig: { mtuBytes: 1200 },
    serverConfig: { mtuBytes: 1200 },
    transferLimitUs: 120e6,
  });
  console.log(formatSummary(result));
  expect(result.simulation.network.counters.dropped.mtu ?? 0).toBe(0);
});
