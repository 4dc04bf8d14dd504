// Per-connection traffic figures for connectionStats(); the engine-wide ones are in counters.ts.
export class TrafficStats {
  packetsSent = 0;
  packetsReceived = 0;
  packetsLost = 0;
  /** Ack-eliciting packets sent (packetsSent less the ACK-only ones). */
  ackElicitingPacketsSent = 0;
  /** Packets that carried at least one retransmitted message frame. */
  packetsRetransmitted = 0;
  /** Message frames (fragments) retransmitted; one packet may carry several. */
  framesRetransmitted = 0;
  messagesSent = 0;
  messagesReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
}
