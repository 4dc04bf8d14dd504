// KCP engine configuration: the ikcp knobs (nodelay, interval, resend, nc, windows, MTU) with
// kcp-go v5's defaults, plus the limits KCP itself does not have (bounded send buffers, a
// dead-peer timeout, session limits, server-wide byte budgets).
import { SEGMENT_HEADER_BYTES } from "./segment.ts";

const MIB = 1024 * 1024;

export interface KcpTuning {
  /** ikcp nodelay: 0 normal (min RTO 100 ms, RTO doubles), 1 or 2 fast (min RTO 30 ms, RTO x1.5). */
  nodelay: 0 | 1 | 2;
  /** ikcp interval in ms (10..5000): enters the RTO (srtt + max(interval, 4 rttvar)). */
  intervalMs: number;
  /** ikcp resend: retransmit a segment after this many later segments were acknowledged (0 = off). */
  fastResend: number;
  /** ikcp nc: true turns the congestion window off (only the send and peer windows bound sending). */
  noCongestionWindow: boolean;
  /** Segments in flight at most (ikcp snd_wnd). kcp-go's default: 32. */
  sendWindow: number;
  /** Segments the peer may send beyond what was delivered (ikcp rcv_wnd). kcp-go's default: 32. */
  receiveWindow: number;
  /** Largest datagram sent (ikcp mtu); a segment carries mtu - 24 bytes. kcp-go's default: 1400. */
  mtuBytes: number;
  /** A segment sent this many times without an acknowledgement ends the session (ikcp dead_link). */
  deadLinkTransmissions: number;
}

export interface KcpEngineConfig extends KcpTuning {
  role: "server" | "client";
  /** Sessions open at once. */
  maxSessions: number;
  /** New sessions one source IP may open per second. */
  sessionsPerSourcePerSecondMax: number;
  /** Distinct source IPs tracked per second for the rate above; more are refused. */
  sourcesTrackedMax: number;
  /** Bytes accepted by send() and not yet acknowledged, per session: send() returns
   *  "buffer-full" beyond it and "drain" follows when half of it is free again. */
  sendBufferBytesPerSession: number;
  /** The same across all sessions. */
  sendBufferBytesTotal: number;
  /** Bytes held for out-of-order segments and incomplete messages across all sessions;
   *  segments beyond it are dropped unacknowledged (the sender retransmits them). */
  receiveBufferBytesTotal: number;
  /** Nothing heard from the peer for this long ends the session ("idle-timeout"). KCP has no
   *  keepalive: a client that may be silent longer must send something itself. */
  deadPeerTimeoutMs: number;
  /** How long a graceful close waits for the peer to acknowledge what is queued. */
  closeLingerMs: number;
  /** Fragments of one message at most (ikcp refuses 128 or more): the peer's receive window
   *  must hold them all, so send() also refuses more than the peer has ever advertised. */
  fragmentsPerMessageMax: number;
  /** Events (messages, state changes) waiting for pollEvent, and their bytes. */
  eventsMax: number;
  eventBytesMax: number;
}

/** kcp-go v5's defaults for a session it creates (NewKCP, newUDPSession in plain mode: no
 *  FEC and no crypt header, so the whole 1400-byte MTU is KCP). */
export function defaultKcpConfig(role: "server" | "client"): KcpEngineConfig {
  return {
    role,
    nodelay: 0,
    intervalMs: 100,
    fastResend: 0,
    noCongestionWindow: false,
    sendWindow: 32,
    receiveWindow: 32,
    mtuBytes: 1400,
    deadLinkTransmissions: 20,
    maxSessions: role === "server" ? 10_000 : 64,
    sessionsPerSourcePerSecondMax: 256,
    sourcesTrackedMax: 65_536,
    sendBufferBytesPerSession: 4 * MIB,
    sendBufferBytesTotal: 1024 * MIB,
    receiveBufferBytesTotal: 256 * MIB,
    deadPeerTimeoutMs: 60_000,
    closeLingerMs: 5_000,
    fragmentsPerMessageMax: 127,
    eventsMax: 1 << 20,
    eventBytesMax: 64 * MIB,
  };
}

/** The "fast" profile kcp-go's examples and bench/peers/kcp use: SetNoDelay(1, 10, 2, 1). */
export const fastKcpTuning: Pick<KcpTuning, "nodelay" | "intervalMs" | "fastResend" | "noCongestionWindow"> = {
  nodelay: 1,
  intervalMs: 10,
  fastResend: 2,
  noCongestionWindow: true,
};

export class KcpConfigError extends Error {}

/** Fills defaults and refuses values that could not work, with what to do instead. */
export function resolveKcpConfig(partial: Partial<KcpEngineConfig>): KcpEngineConfig {
  const config = { ...defaultKcpConfig(partial.role ?? "server"), ...partial };
  const integer = (name: keyof KcpEngineConfig, min: number, max: number): void => {
    const value = config[name] as number;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new KcpConfigError(`KCP option ${name} must be an integer from ${min} to ${max}, got ${value}`);
    }
  };
  if (config.nodelay !== 0 && config.nodelay !== 1 && config.nodelay !== 2) {
    throw new KcpConfigError(`KCP option nodelay must be 0, 1 or 2, got ${config.nodelay}`);
  }
  // ikcp clamps the interval to 10..5000 ms; say so instead of clamping silently.
  integer("intervalMs", 10, 5000);
  integer("fastResend", 0, 1000);
  // ikcp's mtu must leave room for a header; kcp-go caps it at 1500 (mtuLimit).
  integer("mtuBytes", 50, 65_507);
  integer("sendWindow", 1, 65_535);
  integer("receiveWindow", 1, 65_535); // the wnd field is 16 bits
  integer("deadLinkTransmissions", 2, 1000);
  integer("maxSessions", 1, 10_000_000);
  integer("sessionsPerSourcePerSecondMax", 1, 10_000_000);
  integer("sourcesTrackedMax", 1, 10_000_000);
  integer("fragmentsPerMessageMax", 1, 255);
  integer("deadPeerTimeoutMs", 100, 24 * 3600_000);
  integer("closeLingerMs", 0, 3600_000);
  const mss = config.mtuBytes - SEGMENT_HEADER_BYTES;
  if (config.sendBufferBytesPerSession < mss) {
    throw new KcpConfigError(`KCP sendBufferBytesPerSession (${config.sendBufferBytesPerSession}) must hold at least one segment (${mss} bytes)`);
  }
  return config;
}

/** Largest message send() accepts with this configuration (before the peer's window is known). */
export function maxMessageBytes(config: KcpEngineConfig): number {
  return Math.min(config.fragmentsPerMessageMax * (config.mtuBytes - SEGMENT_HEADER_BYTES), config.sendBufferBytesPerSession);
}
