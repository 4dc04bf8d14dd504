import type { EngineCounters } from "../protocol/api.ts";
import type { BufferPoolStats, DriverCounters } from "../transport/driver.ts";

export type { BufferPoolStats, DriverCounters, EngineCounters };

/**
 * What the metrics layer may read of a running endpoint: the engine's and the driver's
 * counters, the buffer pools, and each connection's congestion window. Read-only, and the
 * only way in: metrics never holds the engine or the driver, so either can change its
 * insides without touching src/metrics.
 */
export interface EndpointSample {
  readonly driverKind: "native" | "fallback";
  /** The NUMA node of the native receive slab, read back from the kernel; null if unknown. */
  readonly numaNode: number | null;
  readonly checksumKernel: string;
  readonly engineCounters: Readonly<EngineCounters>;
  readonly driverCounters: Readonly<DriverCounters>;
  poolStats(): BufferPoolStats[];
  /** Calls `visit` for at most `limit` open connections: a bounded walk, whatever the
   *  connection count. */
  visitCongestionWindows(limit: number, visit: (congestionWindowBytes: number, bytesInFlight: number) => void): void;
}
