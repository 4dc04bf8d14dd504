// The JSON shape of `GET /stats` (and what the dashboard and the load generator read).
// Every figure is measured; rates are over the last complete one-second window.
import type { RttBuckets } from "./rttBuckets.ts";
export type { RttBuckets } from "./rttBuckets.ts";

export interface DistributionSummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export interface DirectionRates {
  total: number;
  perSecond: number;
}

export interface PoolClassStats {
  sizeBytes: number;
  inUse: number;
  free: number;
  highWater: number;
  refused: number;
}

export interface StatsSnapshot {
  /** ms since epoch when the snapshot was taken (for the dashboard's x axis). */
  timestampMs: number;
  uptimeSeconds: number;
  pid: number;
  workers: number;
  driver: "native" | "fallback";
  checksumKernel: string;
  numaNode: number | null;
  listen: { host: string; port: number };
  messages: { received: DirectionRates; sent: DirectionRates };
  bytes: { received: DirectionRates; sent: DirectionRates };
  packets: { received: DirectionRates; sent: DirectionRates; perSystemCall: number };
  /**
   * RTT over the last one-second window (what the dashboard plots over time). Each sample is
   * the transport's: from sending an ack-eliciting packet to receiving its ACK, so it includes
   * the peer's ACK delay (a delayed ACK waits up to the peer's max ACK delay, 2 ms by default).
   * It is not the application's request/response time that the load generator measures.
   */
  rttUs: DistributionSummary;
  /** The same RTT samples since the server started. */
  rttUsSinceStart: DistributionSummary;
  /** The same RTT samples since start, in fixed buckets (the Prometheus histogram). */
  rttBucketsSinceStart: RttBuckets;
  connections: { active: number; opened: number; closedByReason: Record<string, number> };
  handshakes: { completed: number; failedByReason: Record<string, number> };
  /** Ratios are over ack-eliciting packets (ACK-only packets are never lost or retransmitted). */
  loss: {
    ackElicitingPacketsSent: number;
    packetsLost: number;
    /** Packets that carried at least one retransmitted frame. */
    packetsRetransmitted: number;
    /** Message frames retransmitted (one packet may carry several). */
    framesRetransmitted: number;
    spuriousRetransmissions: number;
    lossRate: number;
    retransmissionRate: number;
  };
  drops: Record<string, number>;
  limitRefusals: Record<string, number>;
  congestionWindowBytes: DistributionSummary;
  bytesInFlight: DistributionSummary;
  process: { rssBytes: number; heapUsedBytes: number; cpuPercent: number };
  pool: PoolClassStats[];
}
