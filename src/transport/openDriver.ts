import { RudpError } from "../errors.ts";
import type { DatagramDriver, DriverOptions } from "./driver.ts";
import { FallbackDriver } from "./fallbackDriver.ts";

export type DriverChoice = "auto" | "native" | "fallback";

export interface NativeDriverModule {
  nativeDriverUnavailableReason(): string | null;
  openNativeDriver(options: DriverOptions & { receiveThreadCpu?: number; numaNode?: number }): Promise<DatagramDriver>;
}

let fallbackNoticeGiven = false;

/** Loaded lazily so that a broken or missing native library never breaks the fallback. */
async function loadNativeDriverModule(): Promise<NativeDriverModule | { error: string }> {
  try {
    return (await import("./nativeDriver.ts")) as NativeDriverModule;
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Opens the driver the options ask for. "auto" takes native when it loads and says once,
 * in one line, why it fell back otherwise.
 */
export async function openDriver(
  choice: DriverChoice,
  options: DriverOptions & { receiveThreadCpu?: number; numaNode?: number },
  warn: (line: string) => void = (line) => console.warn(line),
): Promise<DatagramDriver> {
  if (choice === "fallback") return FallbackDriver.open(options);
  const module = await loadNativeDriverModule();
  const reason = "error" in module ? `native driver failed to load: ${module.error}` : module.nativeDriverUnavailableReason();
  if (reason === null && !("error" in module)) return module.openNativeDriver(options);
  if (choice === "native") {
    throw new RudpError("ERR_NATIVE_UNAVAILABLE", `the native driver is unavailable: ${reason}; or use the fallback driver (option driver: "fallback", CLI --driver fallback)`);
  }
  if (!fallbackNoticeGiven) {
    fallbackNoticeGiven = true;
    warn(`bun-rudp: using the fallback driver (Bun.udpSocket): ${reason}`);
  }
  return FallbackDriver.open(options);
}
