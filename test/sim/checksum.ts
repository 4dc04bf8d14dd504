// The CRC32C the simulated engines use: the project's own (src/native: the Zig kernels when
// the library loads, its TypeScript slicing-by-8 otherwise), so corruption tests exercise the
// very check the engine relies on in production.

import { checksumKernelName, crc32c as projectCrc32c } from "../../src/native/index.ts";
import type { Crc32c } from "../../src/protocol/api.ts";

const checkValue = projectCrc32c(new TextEncoder().encode("123456789")) >>> 0;
if (checkValue !== 0xe3069283) {
  throw new Error(`crc32c (${checksumKernelName()} kernel) gives 0x${checkValue.toString(16)} for "123456789", expected 0xe3069283`);
}

export const crc32c: Crc32c = (data) => projectCrc32c(data);
/** Which kernel the simulation checksums with ("sse4.2", "typescript", ...). */
export const crc32cSource: string = checksumKernelName();
