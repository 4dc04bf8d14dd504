// `bun bench`: runs every microbenchmark file (bench/*.bench.ts) one after another, each in
// its own process so one's JIT and heap do not colour another's. A benchmark reports
// numbers; it does not pass or fail. `bun bench <filter>` runs the files whose name matches.
import { readdirSync } from "node:fs";
import { join } from "node:path";

const filter = process.argv[2];
const files = readdirSync(import.meta.dir)
  .filter((name) => name.endsWith(".bench.ts") && (!filter || name.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`bench: no bench/*.bench.ts file matches "${filter}"`);
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const result = Bun.spawnSync([process.execPath, join(import.meta.dir, file)], { stdout: "inherit", stderr: "inherit" });
  if (result.exitCode !== 0) {
    failed++;
    console.error(`bench: ${file} exited with ${result.exitCode}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
