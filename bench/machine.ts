// The machine a figure was taken on, printed at the top of every benchmark's output so a figure
// copied into BENCHMARKS.md carries its CPU model, kernel, CPU features and load with it
// (machines of the project's kind differ: one has AVX-512/VPCLMULQDQ, another only AVX2/PCLMUL).
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg, release } from "node:os";
import { checksumKernelName, nativeStatus } from "../src/native/index.ts";

export interface MachineDescription {
  cpuModel: string;
  cpus: number;
  kernel: string;
  /** The CPU flags the project's kernels dispatch on, as /proc/cpuinfo names them. */
  cpuFlags: string[];
  checksumKernel: string;
  nativeLibrary: boolean;
  bun: string;
  loadAverage1m: number;
}

const FLAGS_OF_INTEREST = ["sse4_2", "pclmulqdq", "aes", "avx2", "avx512f", "vpclmulqdq", "vaes"];

function cpuInfoField(text: string, field: string): string {
  const line = text.split("\n").find((l) => l.startsWith(field));
  return line?.split(":").slice(1).join(":").trim() ?? "unknown";
}

export function describeMachine(): MachineDescription {
  let cpuinfo = "";
  try {
    cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    // Not Linux: the model and flags stay unknown; the rest still says something.
  }
  const flags = new Set(cpuInfoField(cpuinfo, "flags").split(/\s+/));
  return {
    cpuModel: cpuInfoField(cpuinfo, "model name"),
    cpus: availableParallelism(),
    kernel: release(),
    cpuFlags: FLAGS_OF_INTEREST.filter((f) => flags.has(f)),
    checksumKernel: checksumKernelName(),
    nativeLibrary: nativeStatus().available,
    bun: Bun.version,
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  };
}

/** One line to print above a benchmark's figures. */
export function machineBanner(): string {
  const m = describeMachine();
  return (
    `machine: ${m.cpuModel}, ${m.cpus} CPUs, Linux ${m.kernel}, flags ${m.cpuFlags.join(" ") || "none found"}, ` +
    `CRC32C kernel ${m.checksumKernel}, native library ${m.nativeLibrary ? "loaded" : "absent (fallback)"}, Bun ${m.bun}, load ${m.loadAverage1m}`
  );
}

if (import.meta.main) console.log(machineBanner());
