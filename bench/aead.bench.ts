// AEAD seal + open of 1200-byte packets through the FFI, 64 per call (one GSO run / one
// receive batch), per cipher and backend. Throughput counts each packet's 1200 bytes once
// for the pair (seal then open), i.e. what one core protects end to end per second.
// Median of --runs (default 3) runs of --seconds (default 0.5) each, with min..max.
// Native kernels are measured per tier (2 AVX-512+VAES, 1 AES-NI/AVX2, 0 portable).
// Run: ./scripts/bun bench/aead.bench.ts [--runs 3] [--seconds 0.5] [--typescript]
import { native } from "../src/native/load.ts";
import { machineBanner } from "./machine.ts";
import { nativeAead, typeScriptAead, type AeadBackend, type CipherName } from "../src/native/aead.ts";

const packetBytes = 1200;
const batchCount = 64;
const headerLength = 13;

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

/** [GB per wall second, GB per CPU second of this process] */
function runOnce(backend: AeadBackend, cipher: CipherName, seconds: number): [number, number] {
  const key = new Uint8Array(32).fill(7);
  const iv = new Uint8Array(12).fill(9);
  const base = new Uint8Array(batchCount * packetBytes);
  const offsets = Uint32Array.from({ length: batchCount }, (_, i) => i * packetBytes);
  const lengths = new Uint32Array(batchCount).fill(packetBytes);
  const packetNumbers = Uint32Array.from({ length: batchCount }, (_, i) => i);
  const verdicts = new Uint8Array(batchCount);
  const batch = { base, offsets, lengths, packetNumbers, count: batchCount, headerLength };
  let packets = 0;
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    backend.sealBatch(cipher, key, iv, batch);
    if (backend.openBatch(cipher, key, iv, batch, verdicts) !== batchCount) throw new Error("aead bench: a packet failed to open");
    for (let i = 0; i < batchCount; i++) packetNumbers[i]! += batchCount;
    packets += batchCount;
  }
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return [(packets * packetBytes) / elapsedS / 1e9, (packets * packetBytes) / cpuS / 1e9];
}

console.log(machineBanner());
const runs = argument("--runs", 3);
const seconds = argument("--seconds", 0.5);
const backends = [nativeAead, process.argv.includes("--typescript") ? typeScriptAead : null].filter((b): b is AeadBackend => b !== null);
if (!nativeAead) console.log("aead bench: native library not loaded (run `bun run build`); only --typescript can run");
const tiers = native ? [2, 1, 0].filter((tier) => native!.rudp_aead_set_tier_max(tier) === tier) : [];
for (const backend of backends) {
  for (const [tier, cipher] of (backend === nativeAead ? tiers : [-1]).flatMap((tier) => (["aes-256-gcm", "chacha20-poly1305"] as CipherName[]).map((c) => [tier, c] as const))) {
    if (tier >= 0) native!.rudp_aead_set_tier_max(tier);
    const label = tier >= 0 ? `native tier ${tier}` : backend.name;
    if (!backend.supports(cipher)) {
      console.log(`${label} ${cipher}: not supported on this CPU at this tier`);
      continue;
    }
    const results = Array.from({ length: runs }, () => runOnce(backend, cipher, seconds));
    const describe = (figures: number[]) => {
      figures.sort((a, b) => a - b);
      return `median ${figures[Math.floor(figures.length / 2)]!.toFixed(2)} (min ${figures[0]!.toFixed(2)}, max ${figures.at(-1)!.toFixed(2)})`;
    };
    const wall = describe(results.map((r) => r[0]));
    const perCpu = describe(results.map((r) => r[1]));
    console.log(`${label} ${cipher}: seal+open ${packetBytes} B x ${batchCount}/call: GB/s wall ${wall}; GB per CPU-second ${perCpu}; ${runs} runs of ${seconds} s`);
  }
}
