// Which drivers the integration suite runs on. The native driver is required wherever the
// library was built (CI builds it); RUDP_NATIVE=off runs the suite on the fallback alone.
import { nativeStatus } from "../../src/native/load.ts";

export type DriverName = "native" | "fallback";

export function driversUnderTest(): DriverName[] {
  if (process.env.RUDP_NATIVE === "off") return ["fallback"];
  return ["native", "fallback"];
}

export function nativeAvailable(): boolean {
  return nativeStatus().available;
}

/** Runs `body` until it returns true or the time runs out; bounded by design. */
export async function waitFor(what: string, body: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!body()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(2);
  }
}
