// "One build runs on any x86-64": in the built library, AVX/VEX, crc32 and pclmul
// instructions may appear only in the kernel objects that crc32c.zig calls after cpuid
// (build.zig compiles those with extra CPU features). Reads the disassembly with objdump;
// skips, saying why, without objdump or the library.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { defaultNativeLibraryPath } from "../../src/native/load.ts";

const objdump = Bun.which("objdump");
const ready = objdump !== null && existsSync(defaultNativeLibraryPath) && process.arch === "x64";
if (!ready) console.warn("baseline.test.ts: skipped: needs objdump and zig-out/lib/librudp.so on x86-64");

// The AEAD tiers (aead_aesni.zig, aead_chacha_avx2.zig, aead_avx512.zig) are kernel objects too,
// entered only after cpuid (rudp_aead tier selection); the std.crypto functions inlined into them
// carry std's names ("crypto.ghash_polyval...", "crypto.chacha20..."), so those names are allowed
// as a family. Weaker than the CRC32C check: a SIMD instruction in the baseline AEAD tier's own
// std.crypto instantiation would also pass (noted in the closing note of this round).
const kernelFunction = /^(rudp_internal_crc32c_|rudp_internal_(aes256gcm|chacha20poly1305)|crc32c_(avx512|avx2|sse42|clmul|instruction)\.|crypto\.)/;

test.skipIf(!ready)("SIMD and crc32 instructions appear only in the run-time-selected kernels", () => {
  const result = Bun.spawnSync([objdump!, "-d", "--no-show-raw-insn", defaultNativeLibraryPath], { stdout: "pipe", timeout: 20_000 });
  expect(result.exitCode).toBe(0);
  const offenders = new Set<string>();
  const kernels = new Set<string>();
  let current = "";
  for (const line of result.stdout.toString().split("\n")) {
    const header = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (header) {
      current = header[1]!;
      continue;
    }
    if (!/\t(v[a-z0-9]+|crc32[a-z]*|pclmul[a-z]*)\s/.test(line)) continue;
    (kernelFunction.test(current) ? kernels : offenders).add(current);
  }
  expect([...offenders]).toEqual([]);
  expect(kernels.size).toBeGreaterThanOrEqual(3); // the kernels were found at all
});
