import type { EngineDependencies } from "../protocol/api.ts";
import { crc32c } from "../native/crc32c.ts";

/** The engine's outside world in production: the fastest CRC32C and the OS's randomness. */
export function engineDependencies(): EngineDependencies {
  return {
    crc32c: (data) => crc32c(data),
    randomBytes: (out) => {
      crypto.getRandomValues(out);
    },
  };
}
