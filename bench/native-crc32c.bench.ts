// CRC32C per kernel (through the public crc32c(), FFI call included) against Bun.hash.crc32,
// Bun.hash.xxHash3 and @node-rs/crc32 at 64 B, 1200 B and 64 KiB. Prints mitata's table,
// then GB/s per row. Run: ./scripts/bun bench/native-crc32c.bench.ts
import { bench, do_not_optimize, group, run } from "mitata";
import { crc32c as nodeRsCrc32c } from "@node-rs/crc32";
import { availableChecksumKernels, crc32c, forceChecksumKernel } from "../src/native/index.ts";

const sizesBytes = [64, 1200, 65536];
const kernels = availableChecksumKernels();

for (const size of sizesBytes) {
  const data = new Uint8Array(size).map((_, i) => (i * 131 + 7) & 0xff);
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  group(`${size} B`, () => {
    for (const kernel of kernels) {
      bench(`crc32c ${kernel} ${size} B`, function* () {
        forceChecksumKernel(kernel);
        yield () => do_not_optimize(crc32c(data));
      });
    }
    bench(`Bun.hash.crc32 ${size} B`, () => do_not_optimize(Bun.hash.crc32(data)));
    bench(`Bun.hash.xxHash3 ${size} B`, () => do_not_optimize(Bun.hash.xxHash3(data)));
    bench(`@node-rs/crc32 crc32c ${size} B`, () => do_not_optimize(nodeRsCrc32c(buffer)));
  });
}

const result = await run();
forceChecksumKernel("auto");
console.log("\n| benchmark | avg ns | p50 ns | GB/s (avg) |\n| --- | ---: | ---: | ---: |");
for (const trial of result.benchmarks) {
  const stats = trial.runs[0]?.stats;
  if (!stats) continue;
  const size = Number(/(\d+) B$/.exec(trial.alias)?.[1] ?? 0);
  console.log(`| ${trial.alias} | ${stats.avg.toFixed(1)} | ${stats.p50.toFixed(1)} | ${(size / stats.avg).toFixed(2)} |`);
}
