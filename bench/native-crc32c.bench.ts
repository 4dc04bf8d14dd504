// CRC32C per kernel (through the public crc32c(), FFI call included) against Bun.hash.crc32,
// Bun.hash.xxHash3 and @node-rs/crc32 at 64 B, 1200 B and 64 KiB. Prints mitata's table,
// then GB/s per row, then a best-of-15 timed loop per row (less sensitive to other load on a
// shared machine). Run: ./scripts/bun bench/native-crc32c.bench.ts
import { bench, do_not_optimize, group, run } from "mitata";
import { crc32c as nodeRsCrc32c } from "@node-rs/crc32";
import { availableChecksumKernels, crc32c, forceChecksumKernel } from "../src/native/index.ts";
import { machineBanner } from "./machine.ts";

console.log(machineBanner());

const sizesBytes = [64, 1200, 65536];
const kernels = availableChecksumKernels();

const contenders: Array<{ name: string; prepare?: () => void; hash: (data: Uint8Array, buffer: Buffer) => unknown }> = [
  ...kernels.map((kernel) => ({ name: `crc32c ${kernel}`, prepare: () => forceChecksumKernel(kernel), hash: (data: Uint8Array) => crc32c(data) })),
  { name: "Bun.hash.crc32", hash: (data: Uint8Array) => Bun.hash.crc32(data) },
  { name: "Bun.hash.xxHash3", hash: (data: Uint8Array) => Bun.hash.xxHash3(data) },
  { name: "@node-rs/crc32 crc32c", hash: (_: Uint8Array, buffer: Buffer) => nodeRsCrc32c(buffer) },
];

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

// Best of 15 rounds, each round hashing ~16 MiB (at least 1000 calls).
const roundsMax = 15;
console.log("\n| best of 15 rounds | ns per call | GB/s |\n| --- | ---: | ---: |");
for (const size of sizesBytes) {
  const data = new Uint8Array(size).map((_, i) => (i * 131 + 7) & 0xff);
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const calls = Math.max(1000, Math.floor((16 << 20) / size));
  for (const contender of contenders) {
    contender.prepare?.();
    let bestNs = Infinity;
    for (let round = 0; round < roundsMax; round++) {
      const started = Bun.nanoseconds();
      for (let i = 0; i < calls; i++) do_not_optimize(contender.hash(data, buffer));
      bestNs = Math.min(bestNs, (Bun.nanoseconds() - started) / calls);
    }
    console.log(`| ${contender.name} ${size} B | ${bestNs.toFixed(1)} | ${(size / bestNs).toFixed(2)} |`);
  }
}
forceChecksumKernel("auto");
