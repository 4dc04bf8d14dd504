// Sweep seeds that once found an engine bug (test/sim/FINDINGS.md), pinned so they run on
// every CI run even when a slow machine's time-bounded sweep does not reach them.

import { setDefaultTimeout, test } from "bun:test";
import { SimInconclusive } from "./harness.ts";
import { runSweepSeed } from "./sweep.ts";

setDefaultTimeout(30000);

const fixed: { finding: string; seeds: number[] }[] = [
  { finding: "1 livelock on the loss-time deadline", seeds: [46, 47, 48, 52, 76, 86] },
  { finding: "3 handshake backoff / lost HANDSHAKE reply / repeated INITIAL and idle", seeds: [89, 356, 420, 765, 1215] },
  { finding: "5 message after closed", seeds: [1340] },
  { finding: "8 stalled close while loss recovery progressed", seeds: [47, 407] },
];

for (const { finding, seeds } of fixed) {
  test(`sim regression: FINDINGS ${finding} (sweep seeds ${seeds.join(", ")})`, () => {
    for (const seed of seeds) {
      try {
        runSweepSeed(seed);
      } catch (error) {
        // The network may make a run inconclusive; that is not the bug coming back.
        if (!(error instanceof SimInconclusive)) throw error;
      }
    }
  });
}

// Found open at 9ddc326, fixed in the proto branch (FINDINGS 6: closed clients remembered for
// one cookie lifetime; 7: a closing connection answers a repeated INITIAL with HANDSHAKE + CLOSE).
test("sim regression: FINDINGS 6, sweep seeds 1000925 1001909 3005140: a delayed INITIAL after the close resurrects the connection (server: a second connection)", () => {
  for (const seed of [1000925, 1001909, 3005140]) runSweepSeed(seed);
});

test("sim regression: FINDINGS 7, sweep seed 1004737: a closing server answers a repeated INITIAL with HANDSHAKE and stops echoing CLOSE (peer idle-timeout)", () => {
  runSweepSeed(1004737);
});
