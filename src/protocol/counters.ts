// Engine-wide counters (api.ts EngineCounters) plus the RTT sample buffer the metrics layer
// drains. Counters by reason are plain records: they are touched only off the hot path.
import type { EngineCounters } from "./api.ts";

const RTT_SAMPLES_MAX = 4096;

export class Counters implements EngineCounters {
  datagramsReceived = 0;
  datagramsSent = 0;
  bytesReceived = 0;
  bytesSent = 0;
  messagesReceived = 0;
  messagesSent = 0;
  packetsLost = 0;
  ackElicitingPacketsSent = 0;
  packetsRetransmitted = 0;
  framesRetransmitted = 0;
  spuriousRetransmissions = 0;
  handshakesCompleted = 0;
  handshakesFailed: Record<string, number> = {};
  connectionsOpened = 0;
  connectionsClosed: Record<string, number> = {};
  connectionsActive = 0;
  drops: Record<string, number> = {};
  limitRefusals: Record<string, number> = {};
  unvalidatedBytesReceived = 0;
  unvalidatedBytesSent = 0;
  rttSamplesDropped = 0;
  invariantViolations = 0;
  memoryHeldBytes = 0;
  packetsDecryptFailed = 0;
  packetsReplayed = 0;
  handshakeAuthFailed = 0;
  keyUpdates = 0;

  private readonly rttSamples = new Float64Array(RTT_SAMPLES_MAX);
  private rttSampleCount = 0;

  drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  refuse(limit: string): void {
    this.limitRefusals[limit] = (this.limitRefusals[limit] ?? 0) + 1;
  }

  handshakeFailed(reason: string): void {
    this.handshakesFailed[reason] = (this.handshakesFailed[reason] ?? 0) + 1;
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
