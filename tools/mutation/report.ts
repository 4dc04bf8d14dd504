// The mutation report: score per part over the mutants tested, and every survivor with its
// source line and, where one was written, the argument why it is not a missing test
// (tools/mutation/argued.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { arguedSurvivors } from "./argued.ts";
import type { Mutant } from "./mutants.ts";

const root = resolve(import.meta.dir, "..", "..");

export interface MutantResult {
  part: string;
  mutant: Mutant;
  status: "killed" | "timeout" | "survived";
  killedBy: string | null;
  ms: number;
}

export interface RunSummary {
  startedAt: string;
  seconds: number;
  budgetSeconds: number;
  seed: number;
  jobs: number;
  totalByPart: Map<string, number>;
  tiers: string[][];
  command: string;
  commit: string;
}

function percent(killed: number, tested: number): string {
  return tested === 0 ? "-" : `${((100 * killed) / tested).toFixed(1)} %`;
}

function sourceLine(mutant: Mutant): string {
  const line = readFileSync(join(root, mutant.file), "utf8").split("\n")[mutant.line - 1] ?? "";
  return line.trim().replace(/\|/g, "\\|");
}

export function argumentFor(mutant: Mutant): string | null {
  const line = readFileSync(join(root, mutant.file), "utf8").split("\n")[mutant.line - 1] ?? "";
  const argued = arguedSurvivors.find((a) => a.file === mutant.file && a.operator === mutant.operator && line.includes(a.lineContains));
  return argued?.why ?? null;
}

export function writeReport(path: string, summary: RunSummary, results: MutantResult[]): void {
  const rows: string[] = [];
  let testedAll = 0;
  let killedAll = 0;
  for (const [part, total] of summary.totalByPart) {
    const mine = results.filter((r) => r.part === part);
    const killed = mine.filter((r) => r.status !== "survived").length;
    const timeouts = mine.filter((r) => r.status === "timeout").length;
    testedAll += mine.length;
    killedAll += killed;
    rows.push(`| ${part} | ${total} | ${mine.length} | ${killed} (${timeouts} by timeout) | ${mine.length - killed} | ${percent(killed, mine.length)} |`);
  }
  const survivors = results.filter((r) => r.status === "survived").sort((a, b) => a.mutant.id.localeCompare(b.mutant.id, "en", { numeric: true }));
  const argued = survivors.filter((r) => argumentFor(r.mutant) !== null).length;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const text = [
    "# Mutation testing: the engine's wire, handshake, recovery, flow control and reassembly",
    "",
    "Written by `tools/mutation/run.ts` (do not edit by hand; arguments for survivors live in",
    "`tools/mutation/argued.ts`). Each mutant is one small bug put into a copy of the repository;",
    `the test tiers (${summary.tiers.map((tier, i) => `${i + 1}: \`bun test ${tier.join(" ")}\``).join("; ")}) run against it, fastest first.`,
    "A mutant is killed when a tier fails (or runs past 3x its unmutated time); it survives when",
    "every tier passes. Mutants are visited part by part in a seeded random order, so a run that",
    "stops at its time budget has sampled every part evenly.",
    "",
    `Run: \`${summary.command}\`, commit ${summary.commit}, started ${summary.startedAt}, ${summary.seconds.toFixed(0)} s on ${cpu} (${cpus().length} CPUs, shared with other work).`,
    "",
    "| part | mutants | tested | killed | survived | score |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    `| **all** | ${[...summary.totalByPart.values()].reduce((a, b) => a + b, 0)} | ${testedAll} | ${killedAll} | ${testedAll - killedAll} | **${percent(killedAll, testedAll)}** |`,
    "",
    `## Surviving mutants (${survivors.length}, ${argued} of them argued)`,
    "",
    survivors.length === 0 ? "None." : "| part | where | mutation | line | why it survives |",
    ...(survivors.length === 0 ? [] : ["| --- | --- | --- | --- | --- |"]),
    ...survivors.map((r) => {
      const m = r.mutant;
      return `| ${r.part} | ${m.file}:${m.line}:${m.column} | \`${m.operator.replace(/\|/g, "\\|")}\` | \`${sourceLine(m)}\` | ${argumentFor(m) ?? "not argued: a missing test"} |`;
    }),
    "",
  ].join("\n");
  writeFileSync(path, text);
}
