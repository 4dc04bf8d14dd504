// Congestion control on the simulated bottleneck (test/sim/ccScenarios.ts): one table per
// controller, a row per impairment. Virtual time and a fixed seed: the figures are exact and
// the same on any machine, however loaded (rerun with the same arguments to reproduce them).
//
//   ./scripts/bun run cc-sim                                  # every controller, every scenario
//   ./scripts/bun run cc-sim -- --cc bbr,cubic --scenarios clean,loss5 --seeds 1,2,3
//   ./scripts/bun run cc-sim -- --json /tmp/cc.json

import { parseArgs } from "node:util";
import type { CongestionControlName } from "../src/protocol/api.ts";
import { IMPAIRMENTS, IMPAIRMENT_TITLES, LINK_BYTES_PER_SECOND, RTT_US, runBottleneck, type ImpairmentName, type ScenarioFigures } from "../test/sim/ccScenarios.ts";

const CONTROLLERS: CongestionControlName[] = ["newreno", "cubic", "bbr"];
/** "adaptive" is bbr under its old name (src/protocol/congestion/factory.ts): not run by default. */
const SELECTABLE: CongestionControlName[] = [...CONTROLLERS, "adaptive"];

const usage = `usage: bun bench/ccSim.ts [options]
  --cc a,b          controllers (default ${CONTROLLERS.join(",")})
  --scenarios a,b   ${IMPAIRMENTS.join(", ")} (default all)
  --seeds n,m       seeds; figures are the median over seeds, with min-max (default 1)
  --seconds s       measured window (default 5)
  --json file       also write every run's figures`;

const { values } = parseArgs({
  options: {
    cc: { type: "string" },
    scenarios: { type: "string" },
    seeds: { type: "string" },
    seconds: { type: "string" },
    json: { type: "string" },
    help: { type: "boolean" },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string, defaults: readonly T[] = allowed): T[] {
  if (value === undefined) return defaults.slice();
  const items = value.split(",").filter((item) => item !== "");
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      console.error(`unknown ${what} "${item}": choose from ${allowed.join(", ")}\n${usage}`);
      process.exit(2);
    }
  }
  return items as T[];
}

const controllers = list(values.cc, SELECTABLE, "controller", CONTROLLERS);
const scenarios = list(values.scenarios, IMPAIRMENTS, "scenario");
const seeds = (values.seeds ?? "1").split(",").map(Number);
const measuredUs = Number(values.seconds ?? 5) * 1e6;
if (seeds.some((seed) => !Number.isInteger(seed) || seed < 0) || !(measuredUs > 0)) {
  console.error(`--seeds takes non-negative integers and --seconds a positive number\n${usage}`);
  process.exit(2);
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function spread(values: number[], format: (value: number) => string): string {
  const text = format(median(values));
  if (values.length < 2) return text;
  return `${text} (${format(Math.min(...values))}-${format(Math.max(...values))})`;
}

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;
const millis = (value: number): string => (value / 1000).toFixed(1);
const ratio = (value: number): string => (value === Infinity ? "inf" : value.toFixed(2));

const all: ScenarioFigures[] = [];
console.log(`bottleneck ${(LINK_BYTES_PER_SECOND * 8) / 1e6} Mbit/s, RTT ${RTT_US / 1000} ms, queue 20 ms; seeds ${seeds.join(",")}; measured ${measuredUs / 1e6} s of virtual time after a warm-up`);
for (const controller of controllers) {
  console.log(`\n### ${controller}\n`);
  console.log("| scenario | goodput / link | queue delay mean (max) ms | retransmitted / dropped | spurious / sent | per-flow share |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const scenario of scenarios) {
    const runs = seeds.map((seed) => runBottleneck(controller, scenario as ImpairmentName, { seed, measuredUs }));
    all.push(...runs);
    const shares = runs[0]!.shares.length > 0 ? runs.map((run) => run.shares.map((share) => share.toFixed(2)).join(" / ")).join("; ") : "-";
    console.log(
      `| ${IMPAIRMENT_TITLES[scenario as ImpairmentName]} | ${spread(runs.map((run) => run.linkShare), percent)} | ${spread(runs.map((run) => run.queueDelayMeanUs), millis)} (${millis(Math.max(...runs.map((run) => run.queueDelayMaxUs)))}) | ${spread(runs.map((run) => run.retransmitPerDrop), ratio)} | ${spread(runs.map((run) => run.spuriousRatio), (value) => `${(value * 100).toFixed(2)}%`)} | ${shares} |`,
    );
  }
}
if (values.json !== undefined) await Bun.write(values.json, JSON.stringify(all, null, 2));
