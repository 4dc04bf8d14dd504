// Counters of the KCP engine: the EngineCounters every engine reports (so /stats and /metrics
// read it like the RUDP engine's) plus what only KCP has. By-reason records are touched only
// off the hot path (drops, refusals, closes).
import type { EngineCounters } from "../api.ts";

const RTT_SAMPLES_MAX = 4096;

export class KcpCounters implements EngineCounters {
  datagramsReceived = 0;
  datagramsSent = 0;
  bytesReceived = 0;
  bytesSent = 0;
  messagesReceived = 0;
  messagesSent = 0;
  /** Segments retransmitted because their RTO expired (ikcp "lost"). */
  packetsLost = 0;
  /** Every retransmitted segment: RTO and fast retransmits. ikcp packs segments into datagrams in
   *  its flush without telling which datagram carried a resend, so this counts segments: an upper
   *  bound on the datagrams that carried a retransmission. */
  packetsRetransmitted = 0;
  /** Retransmitted segments (the same as packetsRetransmitted here, see above). */
  framesRetransmitted = 0;
  /** Every KCP datagram but an ACK-only one asks for an answer; not split out: datagramsSent. */
  ackElicitingPacketsSent = 0;
  /** KCP cannot tell: an ACK echoes the ts of the latest copy only. Always 0. */
  spuriousRetransmissions = 0;
  /** Sessions that started (KCP has no handshake: a session starts with its first PUSH). */
  handshakesCompleted = 0;
  handshakesFailed: Record<string, number> = {};
  connectionsOpened = 0;
  connectionsClosed: Record<string, number> = {};
  connectionsActive = 0;
  drops: Record<string, number> = {};
  limitRefusals: Record<string, number> = {};

  // KCP only
  segmentsReceived = 0;
  segmentsSent = 0;
  fastRetransmits = 0;
  /** Sessions ended because a segment reached deadLinkTransmissions (ikcp dead_link). */
  deadLinks = 0;
  /** Bytes accepted by send() and not yet acknowledged, all sessions (a gauge). */
  sendBufferedBytes = 0;
  /** Bytes held for out-of-order segments and incomplete messages, all sessions (a gauge). */
  receiveBufferedBytes = 0;
  rttSamplesDropped = 0;

  private readonly rttSamples = new Float64Array(RTT_SAMPLES_MAX);
  private rttSampleCount = 0;

  drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  refuse(limit: string): void {
    this.limitRefusals[limit] = (this.limitRefusals[limit] ?? 0) + 1;
  }

  connectionClosed(reason: string): void {
    this.connectionsClosed[reason] = (this.connectionsClosed[reason] ?? 0) + 1;
  }

  addRttSample(rttUs: number): void {
    if (this.rttSampleCount === RTT_SAMPLES_MAX) {
      this.rttSamplesDropped++;
      return;
    }
    this.rttSamples[this.rttSampleCount++] = rttUs;
  }

  takeRttSamples(sink: (rttUs: number) => void): void {
    const count = this.rttSampleCount;
    this.rttSampleCount = 0;
    for (let i = 0; i < count; i++) sink(this.rttSamples[i]);
  }
}
