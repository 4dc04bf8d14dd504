// Reads GET /stats of a server process (src/metrics/statsSchema.ts) for the hardening tests.
import type { StatsSnapshot } from "../../../src/metrics/statsSchema.ts";

export async function fetchStats(metricsUrl: string): Promise<StatsSnapshot> {
  const response = await fetch(`${metricsUrl}/stats`);
  if (!response.ok) throw new Error(`GET ${metricsUrl}/stats: HTTP ${response.status}`);
  return (await response.json()) as StatsSnapshot;
}

export function sumCounts(record: Record<string, number> | undefined): number {
  let total = 0;
  for (const value of Object.values(record ?? {})) total += value;
  return total;
}

/** Differences of two by-reason records (after - before), zero entries left out. */
export function countsDelta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [reason, value] of Object.entries(after)) {
    const difference = value - (before[reason] ?? 0);
    if (difference !== 0) delta[reason] = difference;
  }
  return delta;
}

export const MIB = 1024 * 1024;

export function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}
