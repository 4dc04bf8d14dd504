// Native pool alloc+free of a 1200 B (1 KiB-class... 4 KiB) block against allocating a
// Uint8Array, and viewing a block. Run: ./scripts/bun bench/native-pool.bench.ts
import { bench, do_not_optimize, run } from "mitata";
import { NativePool } from "../src/native/index.ts";
import { machineBanner } from "./machine.ts";

console.log(machineBanner());

const pool = NativePool.create({ blocksPerClass: [1024, 1024, 1024, 1024, 64, 16] });
const slab = pool.slab;

bench("pool alloc(1200) + free", () => {
  const offset = pool.alloc(1200);
  pool.free(offset);
  do_not_optimize(offset);
});
bench("pool alloc(64) + free", () => {
  const offset = pool.alloc(64);
  pool.free(offset);
  do_not_optimize(offset);
});
bench("pool alloc + free + subarray view 1200 B", () => {
  const offset = pool.alloc(1200);
  do_not_optimize(slab.subarray(offset, offset + 1200));
  pool.free(offset);
});
bench("new Uint8Array(1200)", () => do_not_optimize(new Uint8Array(1200)));
bench("new Uint8Array(64)", () => do_not_optimize(new Uint8Array(64)));

await run();
console.log(JSON.stringify(pool.placement()));
pool.destroy();
