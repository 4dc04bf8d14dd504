// CRC32C: every kernel against RFC 3720 B.4, against @node-rs/crc32 on random data of
// every length 0..4096 at several alignments and every alignment 0..63 at several
// lengths, chaining, batch and trailer verification, and kernel selection.
import { describe, expect, test } from "bun:test";
import { crc32c as nodeRsCrc32c } from "@node-rs/crc32";
import { readFileSync } from "node:fs";
import {
  availableChecksumKernels,
  checksumKernelName,
  cpuFeatures,
  crc32c,
  crc32cBatch,
  crc32cTypeScript,
  crc32cVerifyBatch,
  crc32cWithKernel,
  forceChecksumKernel,
  native,
  type ChecksumKernelName,
} from "../../src/native/index.ts";

const allKernels: ChecksumKernelName[] = ["vpclmulqdq", "avx2-pclmul", "sse4.2", "table", "typescript"];
const kernels = availableChecksumKernels();

function reference(data: Uint8Array): number {
  return nodeRsCrc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
}

/** Deterministic bytes (xorshift32) so a failure reproduces. */
function randomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

test("the native library is loaded on this machine and the best kernel is active", () => {
  expect(native).not.toBeNull();
  expect(kernels).toContain("table");
  expect(kernels).toContain("typescript");
  expect(checksumKernelName()).toBe(kernels[0]!);
});

test("cpu feature bits agree with /proc/cpuinfo", () => {
  const flags = new Set(/^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))![1]!.trim().split(/\s+/));
  const features = cpuFeatures();
  expect(features.sse42).toBe(flags.has("sse4_2"));
  expect(features.pclmulqdq).toBe(flags.has("pclmulqdq"));
  expect(features.avx2).toBe(flags.has("avx2"));
  expect(features.avx512f).toBe(flags.has("avx512f"));
  expect(features.vpclmulqdq).toBe(flags.has("vpclmulqdq"));
});

describe.each(allKernels)("kernel %s", (kernel) => {
  const supported = kernels.includes(kernel);
  const run = (data: Uint8Array, crc = 0) => crc32cWithKernel(kernel, data, crc);

  test.skipIf(!supported)("check value and RFC 3720 B.4 vectors", () => {
    expect(run(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    expect(run(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(run(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(run(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(run(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(run(new Uint8Array(0))).toBe(0);
  });

  // Native kernels: every length 0..4096 at every alignment 0..63 (~1 s each).
  // TypeScript: every length at alignments 0 and 13, and every alignment at chosen lengths.
  test.skipIf(!supported)("equals @node-rs/crc32 at every length 0..4096 and every alignment 0..63", () => {
    const buffer = randomBytes(4096 + 64, 0xc0ffee + kernel.length);
    const alignments = kernel === "typescript" ? [0, 13] : Array.from({ length: 64 }, (_, i) => i);
    for (const alignment of alignments) {
      for (let length = 0; length <= 4096; length++) {
        const data = buffer.subarray(alignment, alignment + length);
        const got = run(data);
        if (got !== reference(data)) throw new Error(`${kernel}: mismatch at length ${length} alignment ${alignment}`);
      }
    }
    for (let alignment = 0; alignment < 64; alignment++) {
      for (const length of [1, 7, 16, 63, 64, 65, 127, 255, 256, 257, 511, 512, 1200, 2047, 4096]) {
        const data = buffer.subarray(alignment, alignment + length);
        if (run(data) !== reference(data)) throw new Error(`${kernel}: mismatch at length ${length} alignment ${alignment}`);
      }
    }
  });

  test.skipIf(!supported)("large inputs (past the SSE4.2 long-block path) equal the reference", () => {
    for (const length of [24575, 24576, 24577, 65536, 65536 * 3 + 17]) {
      const data = randomBytes(length, length);
      expect(run(data)).toBe(reference(data));
    }
  });

  test.skipIf(!supported)("chaining: f(f(0, a), b) === f(0, a ++ b) at random split points", () => {
    const data = randomBytes(3000, 99);
    for (let split = 0; split <= data.length; split += 37) {
      expect(run(data.subarray(split), run(data.subarray(0, split))!)).toBe(reference(data));
    }
  });
});

test("kernels the CPU lacks are refused, not run", () => {
  for (const kernel of allKernels) {
    if (kernels.includes(kernel)) continue;
    expect(crc32cWithKernel(kernel, new Uint8Array(8))).toBeNull();
    expect(forceChecksumKernel(kernel)).toBe(false);
  }
});

test("forceChecksumKernel switches crc32c() and 'auto' restores the best", () => {
  const data = randomBytes(1500, 5);
  const expected = reference(data);
  try {
    for (const kernel of kernels) {
      expect(forceChecksumKernel(kernel)).toBe(true);
      expect(checksumKernelName()).toBe(kernel);
      expect(crc32c(data)).toBe(expected);
    }
  } finally {
    expect(forceChecksumKernel("auto")).toBe(true);
  }
  expect(checksumKernelName()).toBe(kernels[0]!);
});

test("crc32cTypeScript equals the native crc32c", () => {
  const data = randomBytes(777, 3);
  expect(crc32cTypeScript(data)).toBe(crc32c(data));
  expect(crc32cTypeScript(data.subarray(100), crc32cTypeScript(data.subarray(0, 100)))).toBe(crc32c(data));
});

function datagramsWithTrailers(lengths: number[]): { base: Uint8Array; offsets: Uint32Array; lengths: Uint32Array } {
  const total = lengths.reduce((sum, length) => sum + length, 0);
  const base = randomBytes(total, 7);
  const offsets = new Uint32Array(lengths.length);
  let at = 0;
  lengths.forEach((length, i) => {
    offsets[i] = at;
    if (length >= 4) {
      const body = base.subarray(at, at + length - 4);
      new DataView(base.buffer).setUint32(at + length - 4, crc32c(body), true);
    }
    at += length;
  });
  return { base, offsets, lengths: Uint32Array.from(lengths) };
}

test("crc32cBatch equals one crc32c per datagram, natively and in TypeScript", () => {
  const sizes = [0, 1, 64, 1200, 1500, 9000, 3];
  const { base, offsets, lengths } = datagramsWithTrailers(sizes);
  const out = new Uint32Array(sizes.length);
  crc32cBatch(base, offsets, lengths, out);
  const expected = sizes.map((_, i) => reference(base.subarray(offsets[i]!, offsets[i]! + lengths[i]!)));
  expect([...out]).toEqual(expected);
  forceChecksumKernel("typescript");
  try {
    out.fill(0);
    crc32cBatch(base, offsets, lengths, out);
    expect([...out]).toEqual(expected);
  } finally {
    forceChecksumKernel("auto");
  }
  expect(() => crc32cBatch(base, Uint32Array.of(base.length), Uint32Array.of(1), out, 1)).toThrow(RangeError);
});

test("crc32cVerifyBatch accepts good trailers and rejects corrupted or short datagrams", () => {
  const sizes = [4, 5, 64, 1200, 3, 0, 1500];
  const { base, offsets, lengths } = datagramsWithTrailers(sizes);
  base[offsets[3]! + 10]! ^= 0x01; // corrupt the 1200-byte datagram
  const verdicts = new Uint8Array(sizes.length);
  try {
    for (const kernel of ["auto", "typescript"] as const) {
      forceChecksumKernel(kernel);
      verdicts.fill(9);
      expect(crc32cVerifyBatch(base, offsets, lengths, verdicts)).toBe(4);
      expect([...verdicts]).toEqual([1, 1, 1, 0, 0, 0, 1]);
    }
  } finally {
    forceChecksumKernel("auto"); // bun test shares one process between files
  }
});
