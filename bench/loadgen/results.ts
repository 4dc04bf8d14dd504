// Results of one client process (a "worker"), how they merge, and the run summary.
// Latency histograms travel between processes as HDR compressed base64 (TypeScript workers)
// or as sparse [valueUs, count] buckets (the Go KCP client); both merge into one histogram.

import * as hdr from "hdr-histogram-js";
import type { TransportStats } from "./systems/types.ts";

export interface WorkerResult {
  system: string;
  connections: number;
  connectFailures: number;
  connectionsClosedEarly: number;
  sent: number;
  /** Messages the schedule offered that backpressure kept back until the send phase ended. */
  notSent?: number;
  /** Unique messages that came back (by connection and sequence). */
  received: number;
  duplicates: number;
  /** Messages whose header was outside what this worker tracks (corrupt or foreign). */
  untracked: number;
  backpressureWaits: number;
  sizeBytes: number;
  /** From the first intended send to the last receive (or end of the send phase if later). */
  activeSeconds: number;
  /** RTT from the intended send time (coordinated-omission corrected), microseconds. */
  rttHistogramBase64?: string;
  rttBucketsUs?: [number, number][];
  /** RTT from the actual send time: what the network + server alone cost. */
  serviceHistogramBase64?: string;
  serviceBucketsUs?: [number, number][];
  cpuUserUs: number;
  cpuSystemUs: number;
  rssBytes: number;
  transport: TransportStats | null;
  errors: string[];
}

export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

function addInto(target: hdr.Histogram, base64: string | undefined, buckets: [number, number][] | undefined): void {
  if (base64 !== undefined && base64 !== "") target.add(hdr.decodeFromCompressedBase64(base64));
  for (const [valueUs, count] of buckets ?? []) target.recordValueWithCount(Math.max(1, Math.round(valueUs)), count);
}

export interface LatencySummaryUs {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

function summarize(histogram: hdr.Histogram): LatencySummaryUs {
  if (histogram.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    count: histogram.totalCount,
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
    mean: Math.round(histogram.mean * 10) / 10,
  };
}

/** A latency CDF for charts: [percentile, valueUs] at fixed percentiles. */
function cdfPoints(histogram: hdr.Histogram): [number, number][] {
  if (histogram.totalCount === 0) return [];
  const percentiles = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100];
  return percentiles.map((p) => [p, p === 100 ? histogram.maxValue : histogram.getValueAtPercentile(p)]);
}

export interface ServerStatsSummary {
  cpuPercent: number;
  rssBytesStart: number;
  rssBytesEnd: number;
  rssBytesMax: number;
  source: "proc" | "stats-endpoint" | "none";
  /** Set when the server's GET /stats did not answer with stats (its figures are then missing). */
  statsError?: string;
  packetsSent?: number;
  packetsRetransmitted?: number;
  packetsLost?: number;
}

export interface RunSummary {
  system: string;
  workload: Record<string, unknown>;
  command: string;
  processes: number;
  connections: number;
  connectFailures: number;
  sent: number;
  /** Offered by the schedule but not accepted before the send phase ended (backpressure). */
  notSent: number;
  delivered: number;
  lost: number;
  duplicates: number;
  untracked: number;
  backpressureWaits: number;
  deliveredPerSecond: number;
  goodputMBps: number;
  activeSeconds: number;
  rttUs: LatencySummaryUs;
  serviceRttUs: LatencySummaryUs;
  rttCdfUs: [number, number][];
  /** Retransmitted / sent packets, where the system reports them. */
  retransmissionRatio: number | null;
  clientTransport: TransportStats | null;
  clientCpuPercent: number;
  clientRssBytes: number;
  server: ServerStatsSummary | null;
  proxy: unknown;
  errors: string[];
}

export function mergeResults(results: WorkerResult[], base: Pick<RunSummary, "system" | "workload" | "command" | "processes">, server: ServerStatsSummary | null, proxy: unknown): RunSummary {
  const rtt = newLatencyHistogram();
  const service = newLatencyHistogram();
  let transport: TransportStats | null = null;
  const sum = (pick: (r: WorkerResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  for (const result of results) {
    addInto(rtt, result.rttHistogramBase64, result.rttBucketsUs);
    addInto(service, result.serviceHistogramBase64, result.serviceBucketsUs);
    if (result.transport !== null) {
      transport ??= { packetsSent: 0, packetsRetransmitted: 0, packetsLost: 0 };
      transport.packetsSent += result.transport.packetsSent;
      transport.packetsRetransmitted += result.transport.packetsRetransmitted;
      transport.packetsLost += result.transport.packetsLost;
    }
  }
  const activeSeconds = Math.max(...results.map((r) => r.activeSeconds), 1e-9);
  const delivered = sum((r) => r.received);
  const sent = sum((r) => r.sent);
  const sizeBytes = results[0]?.sizeBytes ?? 0;
  const cpuSeconds = sum((r) => r.cpuUserUs + r.cpuSystemUs) / 1e6;
  let retransmissionRatio: number | null = null;
  const packetsSent = (transport?.packetsSent ?? 0) + (server?.packetsSent ?? 0);
  const packetsRetransmitted = (transport?.packetsRetransmitted ?? 0) + (server?.packetsRetransmitted ?? 0);
  if ((transport !== null || server?.packetsSent !== undefined) && packetsSent > 0) retransmissionRatio = packetsRetransmitted / packetsSent;
  return {
    ...base,
    connections: sum((r) => r.connections),
    connectFailures: sum((r) => r.connectFailures),
    sent,
    notSent: sum((r) => r.notSent ?? 0),
    delivered,
    lost: Math.max(0, sent - delivered),
    duplicates: sum((r) => r.duplicates),
    untracked: sum((r) => r.untracked),
    backpressureWaits: sum((r) => r.backpressureWaits),
    deliveredPerSecond: Math.round(delivered / activeSeconds),
    goodputMBps: Math.round(((delivered * sizeBytes) / activeSeconds / 1e6) * 100) / 100,
    activeSeconds: Math.round(activeSeconds * 1000) / 1000,
    rttUs: summarize(rtt),
    serviceRttUs: summarize(service),
    rttCdfUs: cdfPoints(rtt),
    retransmissionRatio,
    clientTransport: transport,
    clientCpuPercent: Math.round((cpuSeconds / activeSeconds) * 1000) / 10,
    clientRssBytes: sum((r) => r.rssBytes),
    server,
    proxy,
    errors: results.flatMap((r) => r.errors).slice(0, 20),
  };
}
