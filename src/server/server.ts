import { TypedEventEmitter } from "../runtime/typedEmitter.ts";
import { RudpError } from "../errors.ts";
import type { EndpointRuntime } from "../runtime/endpointRuntime.ts";
import { openEndpoint } from "../runtime/openEndpoint.ts";
import { logApplicationError } from "../runtime/endpointRuntime.ts";
import { engineConfigFrom, type ServerOptions } from "../runtime/options.ts";
import { RudpConnection } from "../runtime/rudpConnection.ts";

export interface ServerEvents {
  connection: [connection: RudpConnection];
  /** A connection ended; `connection.closeInfo` says why. */
  disconnect: [connection: RudpConnection];
  /** An application handler ("connection", "disconnect", or a connection's "message" /
   *  "drain" / "close") threw; the server keeps serving. Without a listener it is logged. */
  error: [error: unknown, connection: RudpConnection | null];
}

export const DEFAULT_PORT = 7700;
const SHUTDOWN_TIMEOUT_MS = 2000;

/**
 * An RUDP server: one UDP socket, one protocol engine, one driver.
 * `listen()` binds; `close()` stops accepting, closes every connection with the reason
 * "server-shutdown", flushes and resolves when done (or after a bounded time).
 */
export class RudpServer extends TypedEventEmitter<ServerEvents> {
  private runtime: EndpointRuntime | null = null;
  private closing: Promise<void> | null = null;
  readonly startedAtMs = Date.now();

  constructor(readonly options: ServerOptions = {}) {
    super();
    engineConfigFrom(options, "server"); // validates options now, not at listen
  }

  get address(): { host: string; port: number } {
    const runtime = this.requireRuntime();
    return { host: runtime.driver.localHost, port: runtime.driver.localPort };
  }

  /** Which driver the listening server uses: "native" (librudp) or "fallback" (Bun.udpSocket). */
  get driver(): "native" | "fallback" {
    return this.requireRuntime().driver.kind;
  }

  /** The running engine and driver, for metrics. */
  get endpoint(): EndpointRuntime | null {
    return this.runtime;
  }

  get connections(): ReadonlyMap<number, RudpConnection> {
    return this.runtime?.connections ?? new Map();
  }

  async listen(): Promise<{ host: string; port: number }> {
    if (this.runtime) return this.address;
    const { options } = this;
    const binding = { host: options.host ?? "127.0.0.1", port: options.port ?? DEFAULT_PORT, reusePort: options.reusePort ?? false };
    this.runtime = await openEndpoint("server", options, binding, {
      onConnected: (connection) => this.emit("connection", connection),
      onClosed: (connection) => this.emit("disconnect", connection),
      onRttSample: (rttUs) => this.onRttSample?.(rttUs),
      onApplicationError: (error, connection, event) => {
        // EventEmitter convention: "error" with no listener would throw; log instead.
        if (this.listenerCount("error") > 0) this.emit("error", error, connection);
        else logApplicationError(error, event);
      },
    });
    return this.address;
  }

  /** Set by the metrics layer to record RTT samples. */
  onRttSample?: (rttUs: number) => void;

  close(timeoutMs = SHUTDOWN_TIMEOUT_MS): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    const runtime = this.runtime;
    if (!runtime) return;
    const closed = [...runtime.connections.values()].map((connection) => {
      runtime.engine.close(connection.id, "server-shutdown", false);
      return connection.waitClosed();
    });
    runtime.pump();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(closed), deadline]);
    clearTimeout(timer);
    await runtime.stop();
    this.runtime = null;
  }

  private requireRuntime(): EndpointRuntime {
    if (!this.runtime) throw new RudpError("ERR_SERVER_NOT_LISTENING", "the server is not listening: call and await listen() first");
    return this.runtime;
  }
}

export function createServer(options: ServerOptions = {}): RudpServer {
  return new RudpServer(options);
}
