import type { EngineDependencies } from "../protocol/api.ts";
import { crc32c, crc32cTypeScript } from "../native/crc32c.ts";
import { native } from "../native/load.ts";

/** The engine's outside world in production: the fastest CRC32C and the OS's randomness. */
export function engineDependencies(): EngineDependencies {
  const library = native;
  return {
    crc32c: (data) => crc32c(data),
    // With the native library, checksum a prefix without making a view per datagram.
    crc32cPrefix: library
      ? (data, length) => library.rudp_crc32c(0, data, length)
      : (data, length) => crc32cTypeScript(data.subarray(0, length)),
    randomBytes: (out) => {
      crypto.getRandomValues(out);
    },
  };
}
