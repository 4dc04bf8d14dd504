// The seed sweep: as many random scenarios as fit in a time budget (SIM_SWEEP_SECONDS, default
// 15) or exactly SIM_SEEDS of them, from seed SIM_SWEEP_BASE (default 1; "random" picks one and
// prints it). SIM_SEED replays one seed. Prints how many seeds ran; fails listing every failing
// seed (up to 10) with its scenario and the command to replay it.

import { expect, test } from "bun:test";
import { SimFailure, SimInconclusive } from "./harness.ts";
import { describeSweepSeed, runSweepSeed } from "./sweep.ts";

const failuresListedMax = 10;

/** Engine bugs already reported in FINDINGS.md and not fixed yet: a failure matching one is
 *  counted and printed with its seeds, not failed, so the sweep keeps hunting for new bugs
 *  meanwhile. Remove an entry as soon as the engine fixes it; SIM_STRICT=1 fails on them too. */
const knownEngineIssues: { finding: string; pattern: RegExp }[] = [];

function knownIssueOf(message: string): string | null {
  if (process.env.SIM_STRICT === "1") return null;
  for (const issue of knownEngineIssues) if (issue.pattern.test(message)) return issue.finding;
  return null;
}

function sweepBase(): number {
  const value = process.env.SIM_SWEEP_BASE;
  if (value === undefined || value === "") return 1;
  if (value === "random") return (Math.random() * 0xffffffff) >>> 0;
  return Number(value) >>> 0;
}

test("sim: seed sweep over random scenarios", () => {
  const replay = process.env.SIM_SEED;
  const budgetMs = Number(process.env.SIM_SWEEP_SECONDS ?? 15) * 1000;
  const seedsMax = replay ? 1 : Number(process.env.SIM_SEEDS ?? Infinity);
  const base = replay ? Number(replay) >>> 0 : sweepBase();
  const startedMs = performance.now();
  const failures: string[] = [];
  const inconclusive: string[] = [];
  const known = new Map<string, number[]>();
  let ran = 0;
  // Bounded by count and by time: SIM_SEEDS=N runs exactly N unless the budget is larger.
  const timeBounded = process.env.SIM_SEEDS === undefined && !replay;
  while (ran < seedsMax && (!timeBounded || performance.now() - startedMs < budgetMs)) {
    const seed = (base + ran) >>> 0;
    ran++;
    try {
      runSweepSeed(seed);
    } catch (error) {
      if (error instanceof SimInconclusive) {
        inconclusive.push(error.message);
        continue;
      }
      const message = error instanceof SimFailure ? error.message : `[sweep] seed=${seed}: ${(error as Error).stack ?? error}`;
      const finding = knownIssueOf(message);
      if (finding !== null) {
        known.set(finding, [...(known.get(finding) ?? []), seed]);
        continue;
      }
      failures.push(`${message}\n  scenario: ${describeSweepSeed(seed)}`);
      if (failures.length >= failuresListedMax) break;
    }
  }
  const seconds = (performance.now() - startedMs) / 1000;
  console.log(
    `[sweep] ${ran} seeds (${base}..${(base + ran - 1) >>> 0}) in ${seconds.toFixed(1)} s: ${(ran / seconds).toFixed(1)} seeds/s, ${failures.length} failed, ${inconclusive.length} inconclusive` +
      (timeBounded ? ` (SIM_SWEEP_SECONDS=${budgetMs / 1000})` : ""),
  );
  // Inconclusive seeds are ones where the network itself made the goal impossible (checked, not assumed).
  for (const message of inconclusive.slice(0, 3)) console.log(`  inconclusive: ${message}`);
  for (const [finding, seeds] of known) console.log(`  known engine issue (${finding}): ${seeds.length} seeds, e.g. ${seeds.slice(0, 8).join(", ")}`);
  if (failures.length > 0) throw new Error(`${failures.length} of ${ran} sweep seeds failed:\n${failures.join("\n")}`);
  expect(ran).toBeGreaterThan(0);
}, sweepTimeoutMs());

/** The budget plus room for the last seed (a slow one takes ~2 s) and a busy machine. */
function sweepTimeoutMs(): number {
  if (process.env.SIM_SEED) return 120_000;
  // A counted sweep: generous per seed (a typical seed takes 5-20 ms, the slowest ~2 s).
  if (process.env.SIM_SEEDS !== undefined) return Number(process.env.SIM_SEEDS) * 2_000 + 60_000;
  return Number(process.env.SIM_SWEEP_SECONDS ?? 15) * 1000 + 60_000;
}
