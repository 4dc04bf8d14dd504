// Runs the Zig unit tests (`zig build test`: kernels against the bitwise reference, pool,
// NUMA) with the pinned Zig. Skips, saying why, when Zig is not installed.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const zig = process.env.ZIG || join(root, ".tools", "zig-bin");
const zigPresent = existsSync(zig);
if (!zigPresent) console.warn(`zig.test.ts: skipped: no Zig at ${zig} (run \`bun run setup\`)`);

test.skipIf(!zigPresent)("zig build test passes", () => {
  const result = Bun.spawnSync([zig, "build", "test", "--summary", "failures"], { cwd: root, stdout: "pipe", stderr: "pipe", timeout: 120_000 });
  const output = result.stdout.toString() + result.stderr.toString();
  if (result.exitCode !== 0) console.error(output);
  expect(result.exitCode).toBe(0);
}, 130_000);
