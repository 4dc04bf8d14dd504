// CRC32C (Castagnoli) for the protocol's datagram checksum: the Zig kernels through
// bun:ffi when the library is loaded, else a TypeScript slicing-by-8 table.
// Chaining is zlib-style: crc32c(b, crc32c(a)) === crc32c(a ++ b); crc32c("123456789") === 0xe3069283.
import { native } from "./load.ts";

export type ChecksumKernelName = "vpclmulqdq" | "avx2-pclmul" | "sse4.2" | "table" | "typescript";

/** Kernel ids of `Kernel` in zig/src/crc32c.zig. */
const nativeKernelIds = { table: 0, "sse4.2": 1, "avx2-pclmul": 2, vpclmulqdq: 3 } as const;
const nativeKernelNames: ChecksumKernelName[] = ["table", "sse4.2", "avx2-pclmul", "vpclmulqdq"];
const kernelAuto = 255;

const polynomialReflected = 0x82f63b78;

/** 8 tables of 256: table[k][b] is byte b followed by k zero bytes. */
const sliceTables: Uint32Array = (() => {
  const tables = new Uint32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let v = b;
    for (let bit = 0; bit < 8; bit++) v = v & 1 ? (v >>> 1) ^ polynomialReflected : v >>> 1;
    tables[b] = v;
  }
  for (let k = 1; k < 8; k++) {
    for (let b = 0; b < 256; b++) {
      const previous = tables[(k - 1) * 256 + b]!;
      tables[k * 256 + b] = (previous >>> 8) ^ tables[previous & 0xff]!;
    }
  }
  return tables;
})();

/** Pure TypeScript CRC32C (slicing-by-8); same results as the native kernels. */
export function crc32cTypeScript(data: Uint8Array, crc = 0): number {
  const t = sliceTables;
  let state = ~crc;
  let i = 0;
  const wholeEnd = data.length - (data.length & 7);
  while (i < wholeEnd) {
    const low = state ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    state =
      t[1792 + (low & 0xff)]! ^ t[1536 + ((low >>> 8) & 0xff)]! ^ t[1280 + ((low >>> 16) & 0xff)]! ^
      t[1024 + (low >>> 24)]! ^ t[768 + data[i + 4]!]! ^ t[512 + data[i + 5]!]! ^ t[256 + data[i + 6]!]! ^ t[data[i + 7]!]!;
    i += 8;
  }
  for (; i < data.length; i++) state = (state >>> 8) ^ t[(state ^ data[i]!) & 0xff]!;
  return ~state >>> 0;
}

let typeScriptForced = native === null;

/** CRC32C of `data`, continuing from `crc` (0 to start). */
export function crc32c(data: Uint8Array, crc = 0): number {
  if (typeScriptForced) return crc32cTypeScript(data, crc);
  return native!.rudp_crc32c(crc >>> 0, data, data.length);
}

/** CRC32C of the first `length` bytes of `data`: what the engine checksums on every
 *  datagram, without a view per call when the native kernel runs. */
export function crc32cPrefix(data: Uint8Array, length: number): number {
  if (typeScriptForced) return crc32cTypeScript(data.subarray(0, length));
  return native!.rudp_crc32c(0, data, length);
}

/** The kernel crc32c() uses now (shown by GET /stats). */
export function checksumKernelName(): ChecksumKernelName {
  if (typeScriptForced || !native) return "typescript";
  return nativeKernelNames[native.rudp_crc32c_active_kernel()] ?? "table";
}

/** Kernels this process can run, best first. */
export function availableChecksumKernels(): ChecksumKernelName[] {
  const available: ChecksumKernelName[] = [];
  if (native) {
    for (let id = nativeKernelNames.length - 1; id >= 0; id--) if (native.rudp_crc32c_kernel_supported(id)) available.push(nativeKernelNames[id]!);
  }
  available.push("typescript");
  return available;
}

/**
 * Makes every crc32c() call in this process use `name` ("auto" = the best the CPU has).
 * Returns false, changing nothing, when the CPU or the missing library cannot run it.
 */
export function forceChecksumKernel(name: ChecksumKernelName | "auto"): boolean {
  if (name === "typescript") {
    typeScriptForced = true;
    return true;
  }
  if (!native) return false;
  const id = name === "auto" ? kernelAuto : nativeKernelIds[name];
  if (id === undefined || native.rudp_crc32c_force_kernel(id) !== 0) return false;
  typeScriptForced = false;
  return true;
}

/** Runs one named kernel without changing the active one (tests, benchmarks); null if unsupported. */
export function crc32cWithKernel(name: ChecksumKernelName, data: Uint8Array, crc = 0): number | null {
  if (name === "typescript") return crc32cTypeScript(data, crc);
  if (!native) return null;
  const result = Number(native.rudp_crc32c_kernel(nativeKernelIds[name], crc >>> 0, data, data.length));
  return result < 0 ? null : result;
}

function checkBatch(base: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, outLength: number, count: number): void {
  if (count > offsets.length || count > lengths.length || count > outLength) {
    throw new RangeError(`crc32c batch: count ${count} exceeds offsets/lengths/out`);
  }
  for (let i = 0; i < count; i++) {
    if (offsets[i]! + lengths[i]! > base.length) throw new RangeError(`crc32c batch: datagram ${i} ends past the buffer`);
  }
}

/** out[i] = crc32c(base[offsets[i] .. offsets[i] + lengths[i]]) for i < count: one FFI call. */
export function crc32cBatch(base: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, out: Uint32Array, count = offsets.length): void {
  checkBatch(base, offsets, lengths, out.length, count);
  if (count === 0) return;
  if (!typeScriptForced) {
    native!.rudp_crc32c_batch(base, offsets, lengths, out, count);
    return;
  }
  for (let i = 0; i < count; i++) out[i] = crc32cTypeScript(base.subarray(offsets[i]!, offsets[i]! + lengths[i]!));
}

/**
 * Trailer check: datagram i is good when its last 4 bytes hold, little-endian, the CRC32C
 * of the bytes before them (shorter than 4 bytes is never good). verdicts[i] = 1 or 0;
 * returns how many are good.
 */
export function crc32cVerifyBatch(base: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, verdicts: Uint8Array, count = offsets.length): number {
  checkBatch(base, offsets, lengths, verdicts.length, count);
  if (count === 0) return 0;
  if (!typeScriptForced) return native!.rudp_crc32c_verify_batch(base, offsets, lengths, verdicts, count);
  let good = 0;
  for (let i = 0; i < count; i++) {
    const start = offsets[i]!;
    const length = lengths[i]!;
    let ok = false;
    if (length >= 4) {
      const end = start + length - 4;
      const stored = (base[end]! | (base[end + 1]! << 8) | (base[end + 2]! << 16) | (base[end + 3]! << 24)) >>> 0;
      ok = crc32cTypeScript(base.subarray(start, end)) === stored;
    }
    verdicts[i] = ok ? 1 : 0;
    good += ok ? 1 : 0;
  }
  return good;
}

/** CPU features read with cpuid at run time (zig/src/cpu_features.zig); they pick the kernel. */
export interface CpuFeatures {
  mask: number;
  sse42: boolean;
  pclmulqdq: boolean;
  avx2: boolean;
  avx512f: boolean;
  vpclmulqdq: boolean;
  aes: boolean;
  avx: boolean;
}

/** All false (mask 0) without the native library. */
export function cpuFeatures(): CpuFeatures {
  const mask = native ? native.rudp_cpu_features() : 0;
  return {
    mask,
    sse42: (mask & 1) !== 0,
    pclmulqdq: (mask & 2) !== 0,
    avx2: (mask & 4) !== 0,
    avx512f: (mask & 8) !== 0,
    vpclmulqdq: (mask & 16) !== 0,
    aes: (mask & 32) !== 0,
    avx: (mask & 64) !== 0,
  };
}
