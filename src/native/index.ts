// Public API of src/native (bun:ffi bindings to zig/). Import from here, not from the files.
export { native, nativeStatus, warnNativeUnavailableOnce, ffiTraceReport, type NativeLoadStatus } from "./load.ts";
export { NativeStatus, describeStatus, statusName } from "./abi.generated.ts";
export {
  crc32c,
  crc32cTypeScript,
  crc32cBatch,
  crc32cVerifyBatch,
  crc32cWithKernel,
  checksumKernelName,
  availableChecksumKernels,
  forceChecksumKernel,
  type ChecksumKernelName,
} from "./crc32c.ts";
export { cpuFeatures, type CpuFeatures } from "./crc32c.ts";
export { NativePool, poolClassBytes, type PoolConfig, type PoolClassCounters, type PoolPlacement } from "./pool.ts";
export { numaTopology, parseCpuList, currentCpuAndNode, nodeOfAddress, type NumaTopology, type NumaNode } from "./numa.ts";

// --- UDP, receive thread, sender (other engineer): add exports below this line ---
