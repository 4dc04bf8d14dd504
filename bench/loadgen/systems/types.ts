// What the load generator needs from each system under test (bun-rudp, raw UDP, TCP).
// KCP is driven by its own Go client (systems/kcp.ts) and does not use this interface.

import type { DeliveryMode } from "../../../src/protocol/api.ts";

export type SystemName = "rudp-native" | "rudp-fallback" | "udp" | "tcp" | "kcp";
export const systemNames: readonly SystemName[] = ["rudp-native", "rudp-fallback", "udp", "tcp", "kcp"];

export interface ConnectionHandlers {
  /** `data` is valid only during the call. */
  onMessage(data: Uint8Array): void;
  onDrain(): void;
  onClose(error: Error | null): void;
}

export interface ClientConnection {
  /** Sends one message; false = backpressure (nothing sent; wait for onDrain). The caller may
   *  reuse `data` after return. */
  send(data: Uint8Array): boolean;
  /** Pushes out anything batched during this tick (TCP corks writes per tick). */
  flush(): void;
  close(): void;
}

export interface TransportStats {
  packetsSent: number;
  packetsRetransmitted: number;
  packetsLost: number;
}

export interface SystemClient {
  connect(host: string, port: number, handlers: ConnectionHandlers): Promise<ClientConnection>;
  /** Summed over this client's connections, where the system reports it. */
  transportStats(): TransportStats | null;
  close(): void;
}

export interface ClientOptions {
  mode: DeliveryMode;
}
