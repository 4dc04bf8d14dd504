// Many clients on one server engine at once: the server demultiplexes, keeps per-connection
// limits, and every connection's messages reach the right peer (the ledger checks sender and
// receiver of every delivery). The sweep also runs 2-6 client mixes.

import { expect, setDefaultTimeout, test } from "bun:test";
import { impaired, runMultiClient, scenarioSeed } from "./scenarios.ts";

// Scenarios take 0.1-2 s alone; leave room for a busy two-core machine.
setDefaultTimeout(30000);

test("sim: 12 clients transfer both ways through one server at 3% loss", () => {
  const simulation = runMultiClient("12 clients", scenarioSeed(51), {
    clientCount: 12,
    impairments: impaired({ delayUs: 15_000, jitterMeanUs: 3_000, lossRate: 0.03, duplicateRate: 0.01 }),
    modes: ["reliable-ordered", "reliable-unordered", "unreliable"],
    messagesPerFlow: 40,
    lengthBytesMax: 4000,
    transferLimitUs: 120e6,
  });
  console.log(`[12 clients] seed=${simulation.seed}: delivered and closed by ${(simulation.nowUs / 1e6).toFixed(2)} s, ${simulation.steps} steps`);
  expect(simulation.ledger.flows.length).toBe(12 * 3 * 2);
});
