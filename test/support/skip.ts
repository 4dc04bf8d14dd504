// A skip is an open bug with a reason: test.skipIf with the reason printed, never a silent
// `if (!feature) return` that passes when the feature is missing.
import { test } from "bun:test";

/** `missing` is why the test cannot run here (null: it runs). The reason is printed once. */
export function testWhenAvailable(missing: string | null): typeof test {
  if (missing !== null) console.warn(`[skip] ${missing}`);
  return test.skipIf(missing !== null) as typeof test;
}
