// The CRC32C the simulated engines use: the project's own (src/native/crc32c.ts, native with a
// TypeScript fallback) when it exists, else @node-rs/crc32. Either way it is the real
// Castagnoli polynomial, so corruption tests exercise the check the engine relies on in production.

import type { Crc32c } from "../../src/protocol/api.ts";

async function loadCrc32c(): Promise<{ crc32c: Crc32c; source: string }> {
  try {
    // A computed specifier, so the type checker does not require the file to exist yet.
    const specifier = new URL("../../src/native/crc32c.ts", import.meta.url).href;
    const module = (await import(specifier)) as { crc32c?: Crc32c };
    if (typeof module.crc32c === "function") return { crc32c: module.crc32c, source: "src/native/crc32c.ts" };
  } catch {
    // Not written yet, or failed to load: fall through to the npm implementation.
  }
  const nodeRs = await import("@node-rs/crc32");
  return { crc32c: (data: Uint8Array) => nodeRs.crc32c(data) >>> 0, source: "@node-rs/crc32" };
}

const loaded = await loadCrc32c();
const checkValue = loaded.crc32c(new TextEncoder().encode("123456789")) >>> 0;
if (checkValue !== 0xe3069283) {
  throw new Error(`crc32c from ${loaded.source} gives 0x${checkValue.toString(16)} for "123456789", expected 0xe3069283`);
}

export const crc32c: Crc32c = loaded.crc32c;
export const crc32cSource: string = loaded.source;
