// Congestion-control goals of issue 11 on the simulated bottleneck (200 Mbit/s, 10 ms RTT,
// 20 ms drop-tail queue): virtual time, fixed seed, so the figures are exact on any machine.
// The full table with more seeds and longer windows: ./scripts/bun run cc-sim
import { expect, test } from "bun:test";
import { RTT_US, runBottleneck, type ScenarioFigures } from "./ccScenarios.ts";
import { scenarioSeed } from "./scenarios.ts";

const short = { warmupUs: 1_500_000, measuredUs: 2_000_000 };

function line(figures: ScenarioFigures): string {
  return `[cc ${figures.controller} ${figures.impairment}] seed=${figures.seed}: goodput ${(figures.linkShare * 100).toFixed(1)}% of the link, queue ${(figures.queueDelayMeanUs / 1000).toFixed(1)} ms mean, retransmitted/dropped ${figures.retransmitPerDrop.toFixed(2)}, spurious ${(figures.spuriousRatio * 100).toFixed(2)}%${figures.shares.length > 0 ? `, shares ${figures.shares.map((s) => s.toFixed(2)).join("/")}` : ""}`;
}

const bbrClean = runBottleneck("bbr", "clean", { seed: scenarioSeed(1), ...short });

test("sim cc: bbr fills the clean bottleneck with a queue under one min RTT; cubic fills the queue", () => {
  const cubic = runBottleneck("cubic", "clean", { seed: scenarioSeed(1), ...short });
  console.log(line(bbrClean));
  console.log(line(cubic));
  expect(bbrClean.linkShare).toBeGreaterThan(0.9);
  expect(bbrClean.queueDelayMeanUs).toBeLessThan(RTT_US);
  expect(bbrClean.flows[0]!.packetsLost).toBe(0);
  // The instrument sees the difference: a loss-based controller keeps the 20 ms queue full.
  expect(cubic.queueDelayMeanUs).toBeGreaterThan(RTT_US);
}, 30_000);

test("sim cc: bbr keeps >= 90% of clean goodput under 5% random loss, retransmitting no more than it lost", () => {
  const lossy = runBottleneck("bbr", "loss5", { seed: scenarioSeed(1), ...short });
  console.log(line(lossy));
  expect(lossy.linkShare).toBeGreaterThan(0.9 * bbrClean.linkShare);
  expect(lossy.retransmitPerDrop).toBeLessThan(1.3);
}, 30_000);

test("sim cc: bbr keeps >= 80% of clean goodput under 5% Gilbert-Elliott burst loss", () => {
  const bursty = runBottleneck("bbr", "burst5", { seed: scenarioSeed(1), ...short });
  console.log(line(bursty));
  expect(bursty.linkShare).toBeGreaterThan(0.8 * bbrClean.linkShare);
  expect(bursty.retransmitPerDrop).toBeLessThan(1.3);
}, 30_000);

test("sim cc: 1 ms jitter without loss: spurious retransmissions <= 0.1% of packets (bbr and cubic)", () => {
  for (const controller of ["bbr", "cubic"] as const) {
    const jitter = runBottleneck(controller, "jitter1ms", { seed: scenarioSeed(1), ...short });
    console.log(line(jitter));
    expect(jitter.spuriousRatio).toBeLessThanOrEqual(0.001);
    expect(jitter.linkShare).toBeGreaterThan(0.9);
  }
}, 30_000);

test("sim cc: a bbr flow that starts 1 s later is not starved (equal share not reached: see BENCHMARKS.md)", () => {
  const two = runBottleneck("bbr", "twoFlows", { seed: scenarioSeed(1), warmupUs: 4_000_000, measuredUs: 2_000_000 });
  console.log(line(two));
  expect(two.linkShare).toBeGreaterThan(0.9);
  for (const share of two.shares) expect(share).toBeGreaterThan(0.5);
}, 30_000);
