// Per-connection traffic figures for connectionStats(); the engine-wide ones are in counters.ts.
export class TrafficStats {
  packetsSent = 0;
  packetsReceived = 0;
  packetsLost = 0;
  packetsRetransmitted = 0;
  messagesSent = 0;
  messagesReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
}
