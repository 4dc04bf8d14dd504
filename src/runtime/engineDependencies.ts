import type { EngineDependencies } from "../protocol/api.ts";
import { checksumKernelName, crc32c, crc32cPrefix } from "../native/index.ts";

/** The engine's outside world in production: the fastest CRC32C and the OS's randomness. */
export function engineDependencies(): EngineDependencies {
  return {
    crc32c: (data) => crc32c(data),
    // Checksum a prefix without making a view per datagram (native kernel).
    crc32cPrefix: (data, length) => crc32cPrefix(data, length),
    randomBytes: (out) => {
      crypto.getRandomValues(out);
    },
  };
}

/** The CRC32C kernel the engine's checksums run on ("sse4.2", "typescript", ...), for logs
 *  and GET /stats. */
export function checksumKernel(): string {
  return checksumKernelName();
}
