import { TypedEventEmitter } from "./typedEmitter.ts";
import { describeCloseReason, RudpError } from "../errors.ts";
import type { ConnectionStats, Engine, PeerAddress } from "../protocol/api.ts";

export interface CloseInfo {
  reason: string;
  closeCode: number;
  message: string;
  /** The same as an error, for applications that treat any end as a failure. */
  error: RudpError;
}

export interface ConnectionEvents {
  /** `data` is a view valid only during the call: copy it (`data.slice()`) to keep it. */
  message: [channel: number, data: Uint8Array];
  /** The send buffer has room again after `send` returned false. */
  drain: [];
  close: [info: CloseInfo];
}

/** What a connection needs of the endpoint it lives on: its engine, and a way to have what it
 *  queued sent at the end of the turn. (An interface, so that this file and the endpoint
 *  runtime, which creates connections, do not import each other.) */
export interface ConnectionHost {
  readonly engine: Engine;
  readonly driver: { readonly kind: "native" | "fallback" };
  scheduleFlush(): void;
}

/**
 * One RUDP connection, on the server or the client side. `send` never queues without
 * bound: it returns false when the send buffer is full, and "drain" follows when there is
 * room again.
 */
export class RudpConnection extends TypedEventEmitter<ConnectionEvents> {
  private closedInfo: CloseInfo | null = null;
  private readonly closedWaiters: (() => void)[] = [];

  constructor(
    private readonly host: ConnectionHost,
    readonly id: number,
    readonly remote: PeerAddress,
  ) {
    super();
  }

  get closed(): boolean {
    return this.closedInfo !== null;
  }

  get closeInfo(): CloseInfo | null {
    return this.closedInfo;
  }

  /** Returns false when the send buffer is full (wait for "drain"), or when the connection is
   *  closing and its "close" event has not been dispatched yet (a message that arrived with the
   *  peer's CLOSE is delivered first, and a reply to it must not throw). Throws RudpError for a
   *  message over the size limit, a bad channel, or a closed connection. */
  send(channel: number, data: Uint8Array): boolean {
    if (!Number.isInteger(channel) || channel < 0 || channel > 255) {
      throw new RudpError("ERR_INVALID_CHANNEL", `channel must be an integer from 0 to 255, got ${channel}`);
    }
    if (this.closedInfo) {
      throw new RudpError("ERR_CONNECTION_CLOSED", `cannot send: ${this.closedInfo.message}`, this.closedInfo.reason);
    }
    const result = this.host.engine.send(this.id, channel, data);
    switch (result) {
      case "queued":
        this.host.scheduleFlush();
        return true;
      case "buffer-full":
        return false;
      case "too-large":
        throw new RudpError("ERR_MESSAGE_TOO_LARGE", `message of ${data.length} bytes is over the limit (maxMessageBytes): split it or raise the limit`);
      case "closed":
        return false; // closing: the "close" event follows; throwing here took the server down
    }
  }

  /** Which driver moves this connection's datagrams: "native" (librudp) or "fallback" (Bun.udpSocket). */
  get driver(): "native" | "fallback" {
    return this.host.driver.kind;
  }

  /** Bytes accepted by `send` and not yet acknowledged by the peer. */
  get bufferedBytes(): number {
    return this.host.engine.bufferedBytes(this.id);
  }

  /** Tells the endpoint's memory budget (maxMemoryBytes) that the application holds `bytes`
   *  for this peer, e.g. replies waiting for "drain"; replaces the last value. Counted in the
   *  total and in choosing which connections close when it stays exceeded. */
  holdBytes(bytes: number): void {
    if (this.closedInfo) return;
    this.host.engine.setApplicationHeldBytes?.(this.id, bytes);
  }

  stats(): ConnectionStats | null {
    return this.host.engine.connectionStats(this.id);
  }

  /** Closes the connection. Graceful (default) delivers what is queued first; resolves once
   *  the connection is closed. */
  close(options: { graceful?: boolean; code?: number } = {}): Promise<void> {
    if (this.closedInfo) return Promise.resolve();
    const graceful = options.graceful ?? true;
    const reason = options.code !== undefined ? "application" : graceful ? "graceful" : "aborted";
    this.host.engine.close(this.id, reason, graceful, options.code);
    this.host.scheduleFlush();
    return this.waitClosed();
  }

  waitClosed(): Promise<void> {
    if (this.closedInfo) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  /** Called by the runtime when the engine reports the end. */
  markClosed(reason: string, closeCode: number, message: string): void {
    if (this.closedInfo) return;
    const text = message || describeCloseReason(reason);
    const error = new RudpError("ERR_CONNECTION_CLOSED", `connection to ${this.remote.host}:${this.remote.port} closed: ${text}`, reason);
    this.closedInfo = { reason, closeCode, message: text, error };
    this.emit("close", this.closedInfo);
    for (const resolve of this.closedWaiters.splice(0)) resolve();
  }
}
