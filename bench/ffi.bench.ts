// Cost of one bun:ffi call into librudp: a no-work call (rudp_cpu_features, cached), a
// zero-length checksum (typed array -> ptr conversion) and a JS function as the floor.
// Run: ./scripts/bun bench/ffi.bench.ts
import { bench, do_not_optimize, run } from "mitata";
import { native } from "../src/native/index.ts";
import { machineBanner } from "./machine.ts";

console.log(machineBanner());

if (!native) throw new Error("ffi.bench: native library not loaded (run `bun run build`)");
const symbols = native;
const empty = new Uint8Array(0);
const small = new Uint8Array(16);
const jsNoop = (x: number) => x + 1;

bench("JS function call (floor)", () => do_not_optimize(jsNoop(1)));
bench("ffi rudp_cpu_features()", () => do_not_optimize(symbols.rudp_cpu_features()));
bench("ffi rudp_crc32c(0, empty Uint8Array, 0)", () => do_not_optimize(symbols.rudp_crc32c(0, empty, 0)));
bench("ffi rudp_crc32c(0, 16 B Uint8Array, 16)", () => do_not_optimize(symbols.rudp_crc32c(0, small, 16)));

await run();
