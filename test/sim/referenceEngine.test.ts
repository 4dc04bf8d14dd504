// The simulator's own checks must be able to fail. The reference engine passes a lossy,
// corrupting, duplicating transfer; each deliberate fault then has to be caught by the check
// meant for it. A check that cannot fail here would pass a broken src/protocol too.

import { describe, expect, setDefaultTimeout, test } from "bun:test";
import type { EngineConfig, EngineDependencies } from "../../src/protocol/api.ts";
import { SimFailure, type EngineFactory } from "./harness.ts";
import { createReferenceEngine, referenceEngineConfig, type ReferenceFaults } from "./referenceEngine.ts";
import { checkCorruptionCaught, impaired, runTransfer, type TransferOptions } from "./scenarios.ts";

// Scenarios take 0.1-2 s alone; leave room for a busy two-core machine.
setDefaultTimeout(30000);

function reference(faults: ReferenceFaults): EngineFactory {
  return {
    name: "reference",
    createEngine: (config: Partial<EngineConfig>, deps: EngineDependencies) => createReferenceEngine(config, deps, faults),
    defaultEngineConfig: referenceEngineConfig,
  };
}

function lossyTransfer(faults: ReferenceFaults, overrides: Partial<TransferOptions> = {}): TransferOptions {
  return {
    impairments: impaired({ delayUs: 10_000, jitterMeanUs: 1_000, lossRate: 0.02, duplicateRate: 0.05, corruptRate: 0.05 }),
    flows: [
      { direction: "up", channel: 0, mode: "reliable-ordered", count: 200, lengthBytes: (prng) => prng.between(20, 3000) },
      { direction: "down", channel: 1, mode: "reliable-ordered", count: 100, lengthBytes: 500 },
    ],
    transferLimitUs: 120e6,
    factory: reference(faults),
    ...overrides,
  };
}

/** Runs the scenario and returns the SimFailure message it must end with. */
function failureOf(run: () => void): string {
  try {
    run();
  } catch (error) {
    if (error instanceof SimFailure) return error.message;
    throw error;
  }
  throw new Error("the simulation passed, but the fault should have been caught");
}

describe("simulator checks, against the reference engine", () => {
  test("the fault-free reference engine passes a lossy, corrupting, duplicating transfer", () => {
    const result = runTransfer("reference clean", 101, lossyTransfer({}));
    checkCorruptionCaught(result.simulation, [result.client, result.server]);
    expect(result.simulation.network.counters.corrupted).toBeGreaterThan(0);
  });

  test("skipping the checksum is caught (corrupt content delivered or not counted)", () => {
    const message = failureOf(() => {
      const result = runTransfer("reference no checksum", 102, lossyTransfer({ skipChecksum: true }));
      checkCorruptionCaught(result.simulation, [result.client, result.server]);
    });
    expect(message).toContain("seed=102");
    expect(message).toMatch(/content differs|without the message magic|drops\.checksum|length|flow|shorter/);
  });

  test("a duplicate delivery is caught", () => {
    const message = failureOf(() => runTransfer("reference duplicates", 103, lossyTransfer({ deliverDuplicates: true })));
    expect(message).toContain("delivered twice");
  });

  test("a send buffer over its limit is caught", () => {
    const message = failureOf(() =>
      runTransfer("reference over limit", 104, lossyTransfer({ ignoreSendBufferLimit: true }, { clientConfig: { sendBufferBytesPerConnection: 20_000 } })),
    );
    expect(message).toContain("> sendBufferBytesPerConnection 20000");
  });

  test("a missing drain event is caught as a stall, with the seed to replay", () => {
    const message = failureOf(() => runTransfer("reference no drain", 105, lossyTransfer({ neverDrain: true }, { clientConfig: { sendBufferBytesPerConnection: 20_000 } })));
    expect(message).toContain("SIM_SEED=105");
    expect(message).toMatch(/stalled|not reached/);
  });

  test("a server sending more than 3x to an unvalidated address is caught", () => {
    const message = failureOf(() => runTransfer("reference amplifies", 106, lossyTransfer({ amplifyHandshake: true })));
    expect(message).toContain("amplification");
  });
});
