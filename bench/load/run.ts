// bun run bench:load [--smoke] [--scenario 1,2] [--systems udp,tcp] [--report-only]
// Runs the load scenarios (bench/load/scenarios.ts), every system side by side through
// `bun run loadgen`, writes one JSON per run and regenerates BENCHMARKS-LOAD.md with SVG charts.
// The full form writes bench/load/results/ and bench/load/BENCHMARKS-LOAD.md; --smoke writes
// bench/load/results-smoke/ (figures from seconds-long runs: a pipeline check, not a benchmark).

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { RunSummary } from "../loadgen/results.ts";
import { ensureKcpPeerBuilt } from "../loadgen/systems/kcp.ts";
import { allSystems, buildScenarios, type DerivedColumn, type Scenario, type ScenarioRun, type SystemLabel } from "./scenarios.ts";
import { barChartSvg, cdfChartSvg } from "./svgChart.ts";
import { machineBanner } from "../machine.ts";

const root = join(import.meta.dir, "../..");

function fail(message: string): never {
  console.error(`bench:load: ${message} (see --help)`);
  process.exit(2);
}

function parseFlags() {
  return parseArgs({
    options: {
      smoke: { type: "boolean", default: false },
      scenario: { type: "string" },
      systems: { type: "string" },
      "report-only": { type: "boolean", default: false },
      strict: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }).values;
}
let values: ReturnType<typeof parseFlags>;
try {
  values = parseFlags();
} catch (error) {
  fail((error as Error).message.split("\n")[0]);
}
if (values.help) {
  console.log("usage: bun run bench:load [--smoke] [--scenario N[,N...]] [--systems rudp-native,udp,...] [--report-only] [--strict]");
  console.log("  --strict: exit 1 when any run failed (for CI)");
  process.exit(0);
}

const smoke = values.smoke!;
const scenarios = buildScenarios(smoke);
const chosenNumbers = values.scenario?.split(",").map(Number) ?? scenarios.map((s) => s.number);
for (const number of chosenNumbers) if (!scenarios.some((s) => s.number === number)) fail(`--scenario ${number} does not exist (1..${scenarios.length})`);
const chosenSystems = (values.systems?.split(",") ?? allSystems) as SystemLabel[];
for (const system of chosenSystems) if (!allSystems.includes(system)) fail(`--systems: unknown system "${system}"`);

const outputDirectory = join(import.meta.dir, smoke ? "results-smoke" : "results");
const chartDirectory = join(outputDirectory, "charts");
mkdirSync(chartDirectory, { recursive: true });

function commandText(run: ScenarioRun): string {
  return `bun run loadgen ${run.args.join(" ")} --json ${join(smoke ? "bench/load/results-smoke" : "bench/load/results", `${run.id}.json`)}`;
}

let failedRuns = 0;

async function runOne(run: ScenarioRun): Promise<void> {
  const jsonPath = join(outputDirectory, `${run.id}.json`);
  const durationIndex = run.args.indexOf("--duration");
  const drainIndex = run.args.indexOf("--drain");
  const budgetMs = (Number(run.args[durationIndex + 1] ?? 5) + Number(drainIndex >= 0 ? run.args[drainIndex + 1] : 2)) * 1000 + (smoke ? 30_000 : 120_000);
  const started = performance.now();
  const child = Bun.spawn([process.execPath, join(root, "bench/loadgen/cli.ts"), ...run.args, "--quiet", "--json", jsonPath], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  // SIGTERM first: the load generator then takes its servers and workers down with it.
  const timer = setTimeout(() => {
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  }, budgetMs);
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  clearTimeout(timer);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (child.exitCode !== 0 && !existsSync(jsonPath)) {
    const reason = (stderr.trim().split("\n").pop() ?? "").slice(0, 300) || `exit ${child.exitCode}`;
    await Bun.write(jsonPath, JSON.stringify({ failed: true, system: run.system, command: commandText(run), reason }, null, 2));
    console.error(`  ${run.label}: FAILED in ${seconds}s: ${reason}`);
    failedRuns++;
    return;
  }
  // Record the command as the user would type it, not the internal spawn.
  const summary = JSON.parse(readFileSync(jsonPath, "utf8")) as RunSummary;
  summary.command = commandText(run);
  await Bun.write(jsonPath, `${JSON.stringify(summary, null, 2)}\n`);
  const line = stdout.split("\n").find((l) => l.startsWith("delivered msg/s")) ?? "";
  console.error(`  ${run.label}: ${line.replace(/\s+/g, " ")} (${seconds}s)`);
}

interface FailedRun {
  failed: true;
  reason: string;
  command: string;
}

function loadResults(scenario: Scenario): Map<string, RunSummary | FailedRun> {
  const results = new Map<string, RunSummary | FailedRun>();
  for (const run of scenario.runs) {
    const path = join(outputDirectory, `${run.id}.json`);
    if (existsSync(path)) results.set(run.id, JSON.parse(readFileSync(path, "utf8")));
  }
  return results;
}

function succeeded(results: Map<string, RunSummary | FailedRun>): Map<string, RunSummary> {
  const ok = new Map<string, RunSummary>();
  for (const [id, result] of results) if (!("failed" in result)) ok.set(id, result);
  return ok;
}

function format(value: number | null, digits = 2): string {
  if (value === null || !Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function referenceId(scenario: Scenario, run: ScenarioRun): string {
  return scenario.referenceRunId ?? run.id.replace(run.system, "rudp-native");
}

function ratioText(column: DerivedColumn, summary: RunSummary, reference: RunSummary | undefined, all: Map<string, RunSummary>): string {
  if (!reference) return "n/a";
  const value = column.value(summary, all);
  const base = column.value(reference, all);
  if (value === null || base === null || base === 0) return "n/a";
  return `${(value / base).toFixed(2)}x`;
}

function scenarioMarkdown(scenario: Scenario): string {
  const results = loadResults(scenario);
  const ok = succeeded(results);
  const lines: string[] = [`## ${scenario.number}. ${scenario.title}`, "", scenario.description, ""];
  const columns = [scenario.keyColumn, ...scenario.extraColumns];
  lines.push(`| system | ${columns.map((c) => c.name).join(" | ")} | ${scenario.keyColumn.name} vs ${scenario.referenceRunId ?? "bun-rudp native"} | undelivered / dup | server RSS MB (peak) |`);
  lines.push(`| --- | ${columns.map(() => "---:").join(" | ")} | ---: | ---: | ---: |`);
  for (const run of scenario.runs) {
    const result = results.get(run.id);
    if (result === undefined) {
      lines.push(`| ${run.label} | ${columns.map(() => "not run").join(" | ")} | | | |`);
      continue;
    }
    if ("failed" in result) {
      lines.push(`| ${run.label} | failed: ${result.reason.replace(/\|/g, "/").slice(0, 120)} | ${columns.slice(1).map(() => "").join(" | ")} | | | |`);
      continue;
    }
    const cells = columns.map((c) => format(c.value(result, ok), c.digits));
    const rss = result.server ? format(result.server.rssBytesMax / 1e6, 1) : "n/a";
    lines.push(`| ${run.label} | ${cells.join(" | ")} | ${ratioText(scenario.keyColumn, result, ok.get(referenceId(scenario, run)), ok)} | ${result.lost} / ${result.duplicates} | ${rss} |`);
  }
  lines.push("");
  if (scenario.goals.length > 0) {
    lines.push("Goals (bun-rudp, native driver):", "");
    for (const goal of scenario.goals) {
      const verdict = goal.evaluate(ok);
      lines.push(verdict === null ? `- ${goal.text}: **not measured** (the bun-rudp native run did not complete)` : `- ${goal.text}: **${verdict.reached ? "reached" : "not reached"}**, measured ${verdict.figure}`);
    }
    lines.push("");
  }
  for (const chart of writeCharts(scenario, ok)) lines.push(`![${chart.title}](${chart.path})`, "");
  lines.push("Commands:", "", "```");
  for (const run of scenario.runs) lines.push(results.get(run.id)?.command ?? commandText(run));
  lines.push("```", "");
  return lines.join("\n");
}

function writeCharts(scenario: Scenario, ok: Map<string, RunSummary>): { title: string; path: string }[] {
  const written: { title: string; path: string }[] = [];
  const present = scenario.runs.filter((run) => ok.has(run.id));
  if (present.length === 0) return written;
  const relative = smoke ? "charts" : "results/charts"; // relative to the markdown file
  for (const kind of scenario.charts) {
    const file = `s${scenario.number}-${kind}.svg`;
    let svg: string;
    let title: string;
    if (kind === "latency-cdf") {
      title = `Scenario ${scenario.number}: RTT from intended send time`;
      svg = cdfChartSvg(title, "microseconds", present.map((run) => ({ label: run.label, points: ok.get(run.id)!.rttCdfUs })));
    } else {
      const column: DerivedColumn =
        kind === "throughput"
          ? { name: "delivered msg/s", value: (s) => s.deliveredPerSecond }
          : kind === "goodput"
            ? { name: "goodput MB/s", value: (s) => s.goodputMBps }
            : scenario.keyColumn;
      const unit = column.name.replace(/^[^ ]+ /, "");
      title = `Scenario ${scenario.number}: ${column.name}`;
      svg = barChartSvg(title, unit, present.map((run) => ({ label: run.label, value: column.value(ok.get(run.id)!, ok) ?? 0 })));
    }
    Bun.write(join(chartDirectory, file), svg);
    written.push({ title, path: `${relative}/${file}` });
  }
  return written;
}

function toolVersion(command: string[]): string {
  try {
    const result = Bun.spawnSync(command, { cwd: root, stdout: "pipe", stderr: "pipe" });
    return (result.stdout.toString() || result.stderr.toString()).trim().split("\n")[0] || "unknown";
  } catch {
    return "not installed";
  }
}

function machineMarkdown(): string {
  const cpuModel = cpus()[0]?.model ?? "unknown";
  return [
    "## Machine",
    "",
    "| what | value |",
    "| --- | --- |",
    `| CPU | ${cpuModel}, ${cpus().length} cores (shared with the other engineers' work while measuring) |`,
    `| kernel | Linux ${release()} |`,
    `| Bun | ${Bun.version} |`,
    `| Zig | ${toolVersion([join(root, ".tools/zig-bin"), "version"])} |`,
    `| Go | ${toolVersion(["go", "version"])} |`,
    `| date | ${new Date().toISOString()} |`,
    "",
  ].join("\n");
}

const header = `# Load benchmarks: bun-rudp against raw UDP, TCP and KCP

Generated by \`bun run bench:load${smoke ? " --smoke" : ""}\` (bench/load/run.ts). Every figure below comes from the JSON next to
it in \`${smoke ? "bench/load/results-smoke" : "bench/load/results"}/\`, produced by the command listed under each scenario.
${smoke ? "\n**SMOKE RUN: seconds-long runs at low rates. These figures check the pipeline; they are not benchmark results.**\n" : ""}
How to read it:
- Everything runs on loopback on one 2-core machine: the load generator, any proxy and the server share the cores.
- Open loop: messages are sent on a fixed schedule; RTT counts from each message's *intended* send time, so a stalled
  sender shows up as latency (coordinated omission corrected). "from actual send" is the uncorrected view.
- Echo: every server echoes each message to its sender; delivered/goodput count messages that came back.
- "undelivered": sent but not back by the end of the drain period (3-5 s). For raw UDP that is loss; for the reliable
  systems it is what was still queued or in flight when an overloaded run ended (scenarios 1 and 3 offer far more than
  any system takes), not a message the protocol gave up on. "not sent" messages (held back by backpressure when the
  send phase ended) are in the JSON as notSent and are not counted here.
- TCP through the proxy gets delay/jitter/rate only.
- KCP: kcp-go v5.6.18, nodelay (1, 10 ms, 2, no congestion window), windows 1024, no FEC, no encryption, Go client.
- Server CPU and RSS come from /proc of the spawned server process tree; CPU % is of one core.
- Ratios are to bun-rudp with the native driver in the same scenario (>1 = more of the key figure).
`;

async function main(): Promise<void> {
  console.log(machineBanner());
  try {
    if (chosenSystems.includes("kcp")) ensureKcpPeerBuilt();
  } catch (error) {
    console.error(`bench:load: KCP peer not built, its runs will fail: ${(error as Error).message.slice(0, 200)}`);
  }
  if (!values["report-only"]) {
    for (const scenario of scenarios.filter((s) => chosenNumbers.includes(s.number))) {
      console.error(`scenario ${scenario.number}: ${scenario.title}`);
      for (const run of scenario.runs) if (chosenSystems.includes(run.system)) await runOne(run);
    }
  }
  const markdown = [header, machineMarkdown(), ...scenarios.map(scenarioMarkdown)].join("\n");
  const reportPath = smoke ? join(outputDirectory, "BENCHMARKS-LOAD.smoke.md") : join(import.meta.dir, "BENCHMARKS-LOAD.md");
  await Bun.write(reportPath, markdown);
  console.error(`wrote ${reportPath}${failedRuns > 0 ? `; ${failedRuns} run(s) failed` : ""}`);
  if (values.strict && failedRuns > 0) process.exit(1);
}

await main();
