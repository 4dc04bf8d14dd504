// bun-rudp through its public API (src/index.ts): connect(host, port, options), one channel
// (0) in the requested delivery mode, send(channel, data) -> false on backpressure + "drain".
// Imported lazily so the load generator still runs the other systems while the library is
// being built or if it fails to load.

import type { DeliveryMode } from "../../../src/protocol/api.ts";
import type { ClientConnection, ConnectionHandlers, SystemClient, TransportStats } from "./types.ts";

export const loadgenChannel = 0;

/** The part of RudpConnection the load generator uses; statistics are optional. */
interface RudpConnectionLike {
  send(channel: number, data: Uint8Array): boolean;
  on(event: "message", listener: (channel: number, data: Uint8Array) => void): unknown;
  on(event: "drain", listener: () => void): unknown;
  on(event: "close", listener: (error?: Error | null) => void): unknown;
  close(): unknown;
  stats?: () => Partial<{ packetsSent: number; ackElicitingPacketsSent: number; packetsRetransmitted: number; packetsLost: number }> | null;
}

interface RudpModule {
  connect(host: string, port: number, options: Record<string, unknown>): Promise<RudpConnectionLike>;
}

class RudpClientConnection implements ClientConnection {
  /** Sends refused with an error (connection closed under us): counted, the message is lost. */
  sendErrors = 0;

  constructor(readonly connection: RudpConnectionLike) {}

  send(data: Uint8Array): boolean {
    try {
      return this.connection.send(loadgenChannel, data);
    } catch {
      // Not backpressure: the connection is gone. Report "sent" so the schedule moves on;
      // the message then shows up as lost.
      this.sendErrors++;
      return true;
    }
  }

  flush(): void {}

  close(): void {
    const closing = this.connection.close() as unknown;
    if (closing instanceof Promise) closing.catch(() => {});
  }
}

export class RudpSystemClient implements SystemClient {
  private module: RudpModule | null = null;
  private readonly connections: RudpClientConnection[] = [];

  constructor(
    readonly driver: "native" | "fallback",
    readonly mode: DeliveryMode,
    readonly congestionControl: string | undefined,
    /** The client endpoint's connection limit: all of this worker's connections share it. */
    readonly connectionsMax: number,
  ) {}

  private async load(): Promise<RudpModule> {
    if (this.module === null) this.module = (await import("../../../src/index.ts")) as unknown as RudpModule;
    return this.module;
  }

  async connect(host: string, port: number, handlers: ConnectionHandlers): Promise<ClientConnection> {
    const module = await this.load();
    const options: Record<string, unknown> = {
      driver: this.driver,
      channelModes: { [loadgenChannel]: this.mode },
      maxConnections: this.connectionsMax,
    };
    if (this.congestionControl !== undefined) options.congestionControl = this.congestionControl;
    const connection = await module.connect(host, port, options);
    connection.on("message", (channel: number, data: Uint8Array) => {
      if (channel === loadgenChannel) handlers.onMessage(data);
    });
    connection.on("drain", () => handlers.onDrain());
    connection.on("close", (error?: Error | null) => handlers.onClose(error ?? null));
    const wrapped = new RudpClientConnection(connection);
    this.connections.push(wrapped);
    return wrapped;
  }

  transportStats(): TransportStats | null {
    let found = false;
    const total: TransportStats = { packetsSent: 0, packetsRetransmitted: 0, packetsLost: 0 };
    for (const { connection } of this.connections) {
      const stats = typeof connection.stats === "function" ? connection.stats() : null;
      if (stats == null) continue;
      found = true;
      total.packetsSent += stats.ackElicitingPacketsSent ?? stats.packetsSent ?? 0; // the ratio's denominator: no ACK-only packets
      total.packetsRetransmitted += stats.packetsRetransmitted ?? 0;
      total.packetsLost += stats.packetsLost ?? 0;
    }
    return found ? total : null;
  }

  close(): void {}
}
