// The simulation seed sweep with a wall-clock budget: as many random scenarios as fit in
// --seconds, from --base (or a random base, printed). Exit 1 listing every failing seed (up to
// 10) with its scenario; replay one with `SIM_SEED=<seed> ./scripts/bun test test/sim/sweep.test.ts`.
//
//   bun tools/sim/sweep.ts [--seconds 300] [--base 1|random] [--seeds-max N] [--strict]
import { parseArgs } from "node:util";
import { describeSweep, runSweep, type SweepOptions } from "../../test/sim/sweepRunner.ts";

const usage = "usage: bun tools/sim/sweep.ts [--seconds 300] [--base 1|random] [--seeds-max N] [--strict]";

function parse(): SweepOptions {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "300" },
      base: { type: "string", default: "1" },
      "seeds-max": { type: "string" },
      strict: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number (got "${values.seconds}")`);
  const base = values.base === "random" ? (Math.random() * 0xffffffff) >>> 0 : Number(values.base);
  if (!Number.isInteger(base) || base < 0) throw new Error(`--base must be a non-negative integer or "random" (got "${values.base}")`);
  const seedsMax = values["seeds-max"] === undefined ? Infinity : Number(values["seeds-max"]);
  if (!(seedsMax > 0)) throw new Error(`--seeds-max must be a positive integer (got "${values["seeds-max"]}")`);
  return { base: base >>> 0, seedsMax, budgetMs: seconds * 1000, strict: values.strict };
}

let options: SweepOptions;
try {
  options = parse();
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
console.log(`[sweep] from seed ${options.base}, budget ${options.budgetMs / 1000} s`);
const outcome = runSweep(options);
for (const line of describeSweep(options, outcome)) console.log(line);
if (outcome.failures.length > 0) {
  console.error(`${outcome.failures.length} of ${outcome.ran} sweep seeds failed:\n${outcome.failures.join("\n")}`);
  process.exit(1);
}
