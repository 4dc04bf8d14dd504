import { collectDefaultMetrics, Registry } from "prom-client";
import type { DistributionSummary, RttBuckets, StatsSnapshot } from "./statsSchema.ts";

type MetricType = "counter" | "gauge" | "summary" | "histogram";
interface Sample {
  metricName?: string;
  labels?: Record<string, string | number>;
  value: number;
}

/**
 * A metric whose values come from a snapshot we already measured. prom-client formats and
 * escapes the exposition text; we hand it values through its documented `get()` contract
 * instead of mirroring every counter into prom-client objects on the hot path.
 */
class SnapshotMetric {
  readonly aggregator = "sum";
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    private readonly read: (snapshot: StatsSnapshot) => Sample[],
    private readonly current: () => StatsSnapshot,
  ) {}

  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.read(this.current()) };
  }
  reset(): void {}
}

const byLabel = (label: string, counts: Record<string, number>): Sample[] =>
  Object.entries(counts).map(([key, value]) => ({ labels: { [label]: key }, value }));

function summarySamples(name: string, summary: DistributionSummary, scale: number): Sample[] {
  return [
    { labels: { quantile: "0.5" }, value: summary.p50 * scale },
    { labels: { quantile: "0.9" }, value: summary.p90 * scale },
    { labels: { quantile: "0.95" }, value: summary.p95 * scale },
    { labels: { quantile: "0.99" }, value: summary.p99 * scale },
    { labels: { quantile: "0.999" }, value: summary.p999 * scale },
    { metricName: `${name}_sum`, value: summary.mean * summary.count * scale },
    { metricName: `${name}_count`, value: summary.count },
  ];
}

/** Cumulative `_bucket` samples with `le` in seconds, then `_sum` and `_count`. */
function histogramSamples(name: string, buckets: RttBuckets): Sample[] {
  let cumulative = 0;
  const samples: Sample[] = buckets.boundsUs.map((boundUs, index) => {
    cumulative += buckets.counts[index] ?? 0;
    return { metricName: `${name}_bucket`, labels: { le: String(boundUs / 1e6) }, value: cumulative };
  });
  samples.push({ metricName: `${name}_bucket`, labels: { le: "+Inf" }, value: buckets.count });
  samples.push({ metricName: `${name}_sum`, value: buckets.sumUs / 1e6 });
  samples.push({ metricName: `${name}_count`, value: buckets.count });
  return samples;
}

/** What every RTT figure measures, for HELP texts (and the dashboard says the same). */
export const RTT_MEANING =
  "Each sample runs from sending an ack-eliciting packet to receiving its ACK, so it includes the peer's ACK delay " +
  "(up to its max ACK delay, 2 ms by default); it is not the application's request/response time.";

export interface PrometheusRegistryOptions {
  /** Add prom-client's default metrics (process_*, nodejs_eventloop_lag_*, heap, GC). Default true. */
  defaultMetrics?: boolean;
  /** A registry to add the rudp_* metrics to instead of a new one. */
  registry?: Registry;
}

/**
 * prom-client's default metrics, less three gauges named `*_total` (promtool rejects a
 * non-counter with that suffix; the same figures stay as nodejs_active_handles etc., by type).
 */
function addDefaultMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(name);
  }
}

/** The Prometheus exposition of a server's stats. Base units: seconds and bytes. */
export function createPrometheusRegistry(current: () => StatsSnapshot, options: PrometheusRegistryOptions = {}): Registry {
  const registry = options.registry ?? new Registry();
  // Event-loop lag comes with these (perf_hooks.monitorEventLoopDelay): a busy loop delays every datagram.
  if (options.defaultMetrics ?? true) addDefaultMetrics(registry);
  const add = (name: string, help: string, type: MetricType, read: (s: StatsSnapshot) => Sample[]) =>
    registry.registerMetric(new SnapshotMetric(name, help, type, read, current) as never);
  const one = (value: number): Sample[] => [{ value }];
  const direction = (received: number, sent: number): Sample[] => [
    { labels: { direction: "received" }, value: received },
    { labels: { direction: "sent" }, value: sent },
  ];

  add("rudp_uptime_seconds", "Seconds since the server started.", "gauge", (s) => one(s.uptimeSeconds));
  add("rudp_info", "Constant 1, labelled with the I/O driver and checksum kernel in use.", "gauge", (s) => [
    { labels: { driver: s.driver, checksum_kernel: s.checksumKernel, numa_node: String(s.numaNode ?? "none") }, value: 1 },
  ]);
  add("rudp_workers", "Server worker processes.", "gauge", (s) => one(s.workers));
  add("rudp_messages_total", "Application messages, by direction.", "counter", (s) => direction(s.messages.received.total, s.messages.sent.total));
  add("rudp_bytes_total", "UDP payload bytes, by direction.", "counter", (s) => direction(s.bytes.received.total, s.bytes.sent.total));
  add("rudp_packets_total", "UDP datagrams, by direction.", "counter", (s) => direction(s.packets.received.total, s.packets.sent.total));
  add("rudp_packets_per_send_call", "Datagrams per send system call since start.", "gauge", (s) => one(s.packets.perSystemCall));
  add("rudp_rtt_seconds", `Transport round-trip time samples since start, all connections. ${RTT_MEANING}`, "histogram", (s) =>
    histogramSamples("rudp_rtt_seconds", s.rttBucketsSinceStart),
  );
  add("rudp_connections_active", "Connections open now.", "gauge", (s) => one(s.connections.active));
  add("rudp_connections_opened_total", "Connections opened since start.", "counter", (s) => one(s.connections.opened));
  add("rudp_connections_closed_total", "Connections closed, by reason.", "counter", (s) => byLabel("reason", s.connections.closedByReason));
  add("rudp_handshakes_completed_total", "Handshakes completed.", "counter", (s) => one(s.handshakes.completed));
  add("rudp_handshakes_failed_total", "Handshakes failed, by reason.", "counter", (s) => byLabel("reason", s.handshakes.failedByReason));
  add("rudp_packets_lost_total", "Packets declared lost.", "counter", (s) => one(s.loss.packetsLost));
  add("rudp_ack_eliciting_packets_sent_total", "Packets sent that ask for an ACK (all but ACK-only packets).", "counter", (s) => one(s.loss.ackElicitingPacketsSent));
  add("rudp_packets_retransmitted_total", "Packets that carried at least one retransmitted message frame.", "counter", (s) => one(s.loss.packetsRetransmitted));
  add("rudp_frames_retransmitted_total", "Message frames (fragments) retransmitted; one packet may carry several.", "counter", (s) => one(s.loss.framesRetransmitted));
  add("rudp_spurious_retransmissions_total", "Retransmissions later found unnecessary.", "counter", (s) => one(s.loss.spuriousRetransmissions));
  add("rudp_datagrams_dropped_total", "Received datagrams dropped, by reason.", "counter", (s) => byLabel("reason", s.drops));
  add("rudp_limit_refusals_total", "Requests turned away by a configured limit, by limit.", "counter", (s) => byLabel("limit", s.limitRefusals));
  add("rudp_congestion_window_bytes", "Congestion window across connections.", "summary", (s) => summarySamples("rudp_congestion_window_bytes", s.congestionWindowBytes, 1));
  add("rudp_bytes_in_flight", "Unacknowledged bytes across connections.", "summary", (s) => summarySamples("rudp_bytes_in_flight", s.bytesInFlight, 1));
  add("rudp_process_resident_memory_bytes", "Resident set size of the process.", "gauge", (s) => one(s.process.rssBytes));
  add("rudp_process_heap_used_bytes", "JavaScript heap in use.", "gauge", (s) => one(s.process.heapUsedBytes));
  add("rudp_process_cpu_ratio", "CPU use over the last second (1 = one core).", "gauge", (s) => one(s.process.cpuPercent / 100));
  add("rudp_pool_blocks", "Native buffer-pool blocks, by size class and state.", "gauge", (s) =>
    s.pool.flatMap((c) => [
      { labels: { size_bytes: String(c.sizeBytes), state: "in_use" }, value: c.inUse },
      { labels: { size_bytes: String(c.sizeBytes), state: "free" }, value: c.free },
      { labels: { size_bytes: String(c.sizeBytes), state: "high_water" }, value: c.highWater },
    ]),
  );
  add("rudp_pool_refused_total", "Native buffer-pool allocations refused, by size class.", "counter", (s) =>
    s.pool.map((c) => ({ labels: { size_bytes: String(c.sizeBytes) }, value: c.refused })),
  );
  return registry;
}
