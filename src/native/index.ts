// Public API of src/native (bun:ffi bindings to zig/). The rest of src/ imports from here,
// never from the files (test/structure/layers.test.ts checks it); tests and benchmarks may
// reach the files directly.
export { native, nativeStatus, warnNativeUnavailableOnce, ffiTraceReport, type NativeLoadStatus, type NativeLibraryOrigin } from "./load.ts";
export { NativeStatus, describeStatus, statusName } from "./abi.generated.ts";
export {
  crc32c,
  crc32cTypeScript,
  crc32cPrefix,
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
export { addressKey, ADDRESS_BYTES, decodeAddress, encodeAddress } from "./address.ts";
export { NativeUdpError, openUdpSocket, type NativeUdpSocket } from "./udp.ts";
export { NativeReceiver } from "./receiver.ts";
export { NativeSender } from "./sender.ts";
export {
  nativeAead,
  typeScriptAead,
  defaultAead,
  preferredCipher,
  nonceFor,
  AeadArgumentError,
  AEAD_TAG_BYTES,
  AEAD_KEY_BYTES,
  AEAD_IV_BYTES,
  X25519_KEY_BYTES,
  engineCrypto,
  type AeadBackend,
  type CipherName,
  type EngineCryptoBackend,
  type PacketBatch,
} from "./aead.ts";
