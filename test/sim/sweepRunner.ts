// Runs sweep seeds in a row, bounded by a count and optionally by wall time, and sorts each
// outcome: passed, inconclusive (the network made the goal impossible, checked), a known
// engine issue from FINDINGS.md, or failed. Shared by the counted CI test (sweep.test.ts) and
// the time-budgeted tool (tools/sim/sweep.ts).
import { SimFailure, SimInconclusive } from "./harness.ts";
import { describeSweepSeed, runSweepSeed } from "./sweep.ts";

const failuresListedMax = 10;

/** Engine bugs already reported in FINDINGS.md and not fixed yet: a failure matching one is
 *  counted and printed with its seeds, not failed, so the sweep keeps hunting for new bugs
 *  meanwhile. Remove an entry as soon as the engine fixes it; strict mode fails on them too. */
const knownEngineIssues: { finding: string; pattern: RegExp }[] = [];

export interface SweepOptions {
  base: number;
  seedsMax: number;
  /** Wall-clock budget; Infinity: the count alone bounds the sweep. */
  budgetMs: number;
  strict: boolean;
}

export interface SweepOutcome {
  ran: number;
  seconds: number;
  failures: string[];
  inconclusive: string[];
  known: Map<string, number[]>;
}

function knownIssueOf(message: string, strict: boolean): string | null {
  if (strict) return null;
  for (const issue of knownEngineIssues) if (issue.pattern.test(message)) return issue.finding;
  return null;
}

export function runSweep(options: SweepOptions): SweepOutcome {
  const startedMs = performance.now();
  const outcome: SweepOutcome = { ran: 0, seconds: 0, failures: [], inconclusive: [], known: new Map() };
  while (outcome.ran < options.seedsMax && performance.now() - startedMs < options.budgetMs) {
    const seed = (options.base + outcome.ran) >>> 0;
    outcome.ran++;
    try {
      runSweepSeed(seed);
    } catch (error) {
      if (error instanceof SimInconclusive) {
        outcome.inconclusive.push(error.message);
        continue;
      }
      const message = error instanceof SimFailure ? error.message : `[sweep] seed=${seed}: ${(error as Error).stack ?? error}`;
      const finding = knownIssueOf(message, options.strict);
      if (finding !== null) {
        outcome.known.set(finding, [...(outcome.known.get(finding) ?? []), seed]);
        continue;
      }
      outcome.failures.push(`${message}\n  scenario: ${describeSweepSeed(seed)}`);
      if (outcome.failures.length >= failuresListedMax) break;
    }
  }
  outcome.seconds = (performance.now() - startedMs) / 1000;
  return outcome;
}

/** The summary lines: `[sweep] N seeds (a..b) in S s: ...`, inconclusive examples, known issues. */
export function describeSweep(options: SweepOptions, outcome: SweepOutcome): string[] {
  const lines = [
    `[sweep] ${outcome.ran} seeds (${options.base}..${(options.base + outcome.ran - 1) >>> 0}) in ${outcome.seconds.toFixed(1)} s: ` +
      `${(outcome.ran / outcome.seconds).toFixed(1)} seeds/s, ${outcome.failures.length} failed, ${outcome.inconclusive.length} inconclusive`,
  ];
  // Inconclusive seeds are ones where the network itself made the goal impossible (checked, not assumed).
  for (const message of outcome.inconclusive.slice(0, 3)) lines.push(`  inconclusive: ${message}`);
  for (const [finding, seeds] of outcome.known) lines.push(`  known engine issue (${finding}): ${seeds.length} seeds, e.g. ${seeds.slice(0, 8).join(", ")}`);
  return lines;
}
