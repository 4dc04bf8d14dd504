// Mutation testing of the engine's wire, handshake, recovery, flow control and reassembly code
// (tools/mutation/targets.ts): each mutant is one small bug put into a copy of the repository,
// then the fast test tiers run against it; a mutant that every tier passes "survived" (the
// tests would not notice that bug). Runs until the mutants or the time budget run out, in a
// seeded order that visits the parts in turn, so a short budget still samples every part.
// Writes the score per part and every surviving mutant to the report.
//
//   bun run mutation -- [--budget-seconds 600] [--part wire] [--file src/protocol/wire/frames.ts]
//       [--seed 1] [--jobs 1] [--report bench/REPORT-mutation.md] [--list]
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { applyMutant, mutantsOf, type Mutant } from "./mutants.ts";
import { targetParts, testTiers } from "./targets.ts";
import { writeReport, type MutantResult, type RunSummary } from "./report.ts";

const root = resolve(import.meta.dir, "..", "..");
const usage = "usage: bun run mutation -- [--budget-seconds 600] [--part NAME] [--file PATH] [--seed 1] [--jobs 1] [--report PATH] [--list]";
/** What a sandbox needs to run the tests: sources, tests, the spec vectors, configuration. */
const SANDBOX_ENTRIES = ["src", "test", "tools", "scripts", "docs", "package.json", "bunfig.toml", "tsconfig.json"];

interface Options {
  budgetSeconds: number;
  parts: string[] | null;
  file: string | null;
  seed: number;
  jobs: number;
  reportPath: string;
  list: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      "budget-seconds": { type: "string", default: "600" },
      part: { type: "string", multiple: true },
      file: { type: "string" },
      seed: { type: "string", default: "1" },
      jobs: { type: "string", default: "1" },
      report: { type: "string", default: "bench/REPORT-mutation.md" },
      list: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const budgetSeconds = Number(values["budget-seconds"]);
  if (!(budgetSeconds > 0)) throw new Error(`--budget-seconds must be a positive number (got "${values["budget-seconds"]}")`);
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 8) throw new Error(`--jobs must be an integer from 1 to 8 (got "${values.jobs}")`);
  const known = targetParts.map((part) => part.name);
  for (const part of values.part ?? []) if (!known.includes(part)) throw new Error(`--part must be one of ${known.join(", ")} (got "${part}")`);
  return { budgetSeconds, parts: values.part ?? null, file: values.file ?? null, seed: Number(values.seed) >>> 0, jobs, reportPath: values.report!, list: values.list };
}

/** xorshift32: the mutant order is reproducible from --seed. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed | 1;
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = (state >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Candidate {
  part: string;
  mutant: Mutant;
}

/** Every part's mutants shuffled, then interleaved part by part. */
function candidates(options: Options): { order: Candidate[]; totalByPart: Map<string, number> } {
  const queues: Candidate[][] = [];
  const totalByPart = new Map<string, number>();
  for (const part of targetParts) {
    if (options.parts !== null && !options.parts.includes(part.name)) continue;
    const files = part.files.filter((file) => options.file === null || file === options.file);
    const mutants = files.flatMap((file) => mutantsOf(file, readFileSync(join(root, file), "utf8")));
    if (mutants.length === 0) continue;
    totalByPart.set(part.name, mutants.length);
    queues.push(shuffled(mutants, options.seed).map((mutant) => ({ part: part.name, mutant })));
  }
  const order: Candidate[] = [];
  for (let round = 0; queues.some((queue) => round < queue.length); round++) {
    for (const queue of queues) if (round < queue.length) order.push(queue[round]!);
  }
  return { order, totalByPart };
}

function makeSandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), "rudp-mutation-"));
  for (const entry of SANDBOX_ENTRIES) if (existsSync(join(root, entry))) cpSync(join(root, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  mkdirSync(join(dir, "zig-out"), { recursive: true });
  return dir;
}

function sandboxEnv(): Record<string, string> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), RUDP_SKIP_NATIVE_BUILD: "1" };
  const lib = join(root, "zig-out", "lib", "librudp.so");
  if (existsSync(lib)) env.RUDP_NATIVE_LIB = lib;
  return env;
}

interface TierRun {
  passed: boolean;
  timedOut: boolean;
  ms: number;
  output: string;
}

async function runTier(sandbox: string, tier: string[], timeoutMs: number): Promise<TierRun> {
  const started = performance.now();
  const child = Bun.spawn([process.execPath, "test", "--bail", ...tier], { cwd: sandbox, env: sandboxEnv(), stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  const exitCode = await child.exited;
  clearTimeout(timer);
  return { passed: exitCode === 0 && !timedOut, timedOut, ms: performance.now() - started, output: stdout + stderr };
}

async function testMutant(sandbox: string, candidate: Candidate, tierTimeoutsMs: number[]): Promise<MutantResult> {
  const path = join(sandbox, candidate.mutant.file);
  const original = readFileSync(path, "utf8");
  writeFileSync(path, applyMutant(original, candidate.mutant));
  const started = performance.now();
  try {
    for (const [index, tier] of testTiers.entries()) {
      const run = await runTier(sandbox, tier, tierTimeoutsMs[index]!);
      if (!run.passed) {
        const failed = run.output.match(/^\(fail\) (.*)$/m)?.[1]?.replace(/ \[[0-9.]+m?s\]$/, "") ?? (run.timedOut ? "" : run.output.match(/error: .*/)?.[0] ?? "");
        return { part: candidate.part, mutant: candidate.mutant, status: run.timedOut ? "timeout" : "killed", killedBy: `tier ${index + 1}${failed ? `: ${failed}` : ""}`, ms: performance.now() - started };
      }
    }
    return { part: candidate.part, mutant: candidate.mutant, status: "survived", killedBy: null, ms: performance.now() - started };
  } finally {
    writeFileSync(path, original);
  }
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  const { order, totalByPart } = candidates(options);
  if (options.list) {
    for (const { part, mutant } of order) console.log(`${part}\t${mutant.id}\t${JSON.stringify(mutant.original)} -> ${JSON.stringify(mutant.replacement)}`);
    return;
  }
  const startedMs = performance.now();
  const deadlineMs = startedMs + options.budgetSeconds * 1000;
  const sandboxes = Array.from({ length: options.jobs }, makeSandbox);
  try {
    // The unmutated tree must pass; its time sets each tier's timeout (an infinite loop is a kill).
    const tierTimeoutsMs: number[] = [];
    for (const [index, tier] of testTiers.entries()) {
      const baseline = await runTier(sandboxes[0]!, tier, 300_000);
      if (!baseline.passed) throw new Error(`tier ${index + 1} (${tier.join(" ")}) fails without any mutant:\n${baseline.output.slice(-3000)}`);
      tierTimeoutsMs.push(Math.max(10_000, 3 * baseline.ms + 2_000));
      console.log(`[mutation] tier ${index + 1} passes unmutated in ${(baseline.ms / 1000).toFixed(1)} s (timeout per mutant ${(tierTimeoutsMs[index]! / 1000).toFixed(0)} s)`);
    }
    console.log(`[mutation] ${order.length} mutants in ${[...totalByPart].map(([part, n]) => `${part} ${n}`).join(", ")}; budget ${options.budgetSeconds} s, ${options.jobs} job(s), seed ${options.seed}`);
    const results: MutantResult[] = [];
    let next = 0;
    const summary = (): RunSummary => ({
      startedAt: new Date(Date.now() - (performance.now() - startedMs)).toISOString(),
      seconds: (performance.now() - startedMs) / 1000,
      budgetSeconds: options.budgetSeconds,
      seed: options.seed,
      jobs: options.jobs,
      totalByPart,
      tiers: testTiers,
      command: `bun run mutation -- --budget-seconds ${options.budgetSeconds}${options.parts ? options.parts.map((p) => ` --part "${p}"`).join("") : ""}${options.file ? ` --file ${options.file}` : ""} --seed ${options.seed} --jobs ${options.jobs}`,
      commit: Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: root }).stdout.toString().trim(),
    });
    const worker = async (sandbox: string): Promise<void> => {
      while (next < order.length && performance.now() < deadlineMs) {
        const candidate = order[next++]!;
        const result = await testMutant(sandbox, candidate, tierTimeoutsMs);
        results.push(result);
        const tested = results.length;
        const killed = results.filter((r) => r.status !== "survived").length;
        console.log(`[mutation] ${tested}/${order.length} ${result.status.padEnd(8)} ${candidate.mutant.id} ${JSON.stringify(candidate.mutant.original)} -> ${JSON.stringify(candidate.mutant.replacement)} (${(result.ms / 1000).toFixed(1)} s; score so far ${((100 * killed) / tested).toFixed(1)} %)`);
        if (tested % 25 === 0) writeReport(resolve(root, options.reportPath), summary(), results);
      }
    };
    await Promise.all(sandboxes.map(worker));
    writeReport(resolve(root, options.reportPath), summary(), results);
    const killed = results.filter((r) => r.status !== "survived").length;
    console.log(`[mutation] ${results.length} of ${order.length} mutants tested in ${((performance.now() - startedMs) / 1000).toFixed(0)} s: ${killed} killed, ${results.length - killed} survived, score ${((100 * killed) / Math.max(1, results.length)).toFixed(1)} %; report ${options.reportPath}`);
  } finally {
    for (const sandbox of sandboxes) rmSync(sandbox, { recursive: true, force: true });
  }
}

await main();
