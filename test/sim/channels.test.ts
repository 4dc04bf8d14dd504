// Delivery modes and fragmentation under loss: the ledger checks each message's mode on every
// delivery (exactly once and in order, at most once, never older).

import { expect, setDefaultTimeout, test } from "bun:test";
import type { DeliveryMode } from "../../src/protocol/api.ts";
import { formatSummary, impaired, runTransfer, scenarioSeed, type FlowPlan } from "./scenarios.ts";

// Scenarios take 0.1-2 s alone; leave room for a busy two-core machine.
setDefaultTimeout(30000);

const mebibyte = 1 << 20;

test("sim: all four delivery modes mixed on several channels, both ways", () => {
  const modes: DeliveryMode[] = ["reliable-ordered", "reliable-unordered", "unreliable", "unreliable-sequenced", "reliable-ordered", "unreliable-sequenced"];
  const flows: FlowPlan[] = [];
  modes.forEach((mode, channel) => {
    for (const direction of ["up", "down"] as const) {
      flows.push({ direction, channel, mode, count: 300, lengthBytes: (prng) => (prng.chance(0.1) ? prng.between(1200, 4000) : prng.between(20, 900)) });
    }
  });
  const result = runTransfer("delivery modes mixed", scenarioSeed(11), {
    impairments: impaired({ delayUs: 15_000, jitterMeanUs: 5_000, lossRate: 0.05, duplicateRate: 0.02 }),
    flows,
    transferLimitUs: 120e6,
  });
  console.log(formatSummary(result));
  for (const flow of result.simulation.ledger.flows) {
    expect(flow.queuedCount).toBe(300);
    // Reliable flows are checked complete by runTransfer; unreliable ones lose some, not most.
    if (flow.mode === "unreliable") expect(flow.deliveredCount).toBeGreaterThan(150);
    if (flow.mode === "unreliable-sequenced") expect(flow.deliveredCount).toBeGreaterThan(0);
  }
});

test("sim: 1 MiB fragmented messages under loss", () => {
  const result = runTransfer("1 MiB fragmented messages", scenarioSeed(12), {
    impairments: impaired({ delayUs: 10_000, jitterMeanUs: 1_000, lossRate: 0.03, duplicateRate: 0.01 }),
    flows: [
      { direction: "up", channel: 0, mode: "reliable-ordered", count: 6, lengthBytes: mebibyte },
      { direction: "up", channel: 1, mode: "reliable-unordered", count: 2, lengthBytes: mebibyte },
      { direction: "down", channel: 0, mode: "reliable-ordered", count: 3, lengthBytes: mebibyte },
    ],
    transferLimitUs: 300e6,
  });
  console.log(formatSummary(result));
  expect(result.reliableBytes).toBe(11 * mebibyte);
});
