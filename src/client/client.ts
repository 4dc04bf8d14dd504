import { isIPv6 } from "node:net";
import { describeCloseReason, RudpError } from "../errors.ts";
import type { EndpointRuntime } from "../runtime/endpointRuntime.ts";
import { openEndpoint } from "../runtime/openEndpoint.ts";
import type { RudpOptions } from "../runtime/options.ts";
import type { RudpConnection } from "../runtime/rudpConnection.ts";

export interface ConnectOptions extends RudpOptions {
  /** Local address to bind. */
  localHost?: string;
  /** Give this connection a socket (and source port) of its own instead of sharing the
   *  endpoint of connections with the same options. */
  exclusiveSocket?: boolean;
}

let exclusiveEndpoints = 0;

interface PendingConnect {
  host: string;
  port: number;
  resolve: (connection: RudpConnection) => void;
  reject: (error: RudpError) => void;
}

/**
 * Client connections with the same options share one socket, one engine and (native
 * driver) one receive thread, as QUIC endpoints do: a load generator with 10,000
 * connections does not open 10,000 sockets and threads. The endpoint closes its socket
 * when its last connection ends.
 */
class ClientEndpoint {
  private readonly pending = new Map<number, PendingConnect>();
  private live = 0;

  private constructor(
    private readonly key: string,
    readonly runtime: EndpointRuntime,
  ) {}

  static async open(key: string, family: 4 | 6, options: ConnectOptions): Promise<ClientEndpoint> {
    let endpoint: ClientEndpoint | null = null;
    const binding = { host: options.localHost ?? (family === 6 ? "::" : "0.0.0.0"), port: 0, reusePort: false };
    const runtime = await openEndpoint("client", options, binding, {
      onConnected: (connection) => endpoint!.settle(connection.id, connection, null),
      onClosed: () => endpoint!.release(),
      onClosedBeforeConnected: (handle, reason, message) => endpoint!.settle(handle, null, { reason, message }),
    });
    endpoint = new ClientEndpoint(key, runtime);
    return endpoint;
  }

  connect(host: string, family: 4 | 6, port: number): Promise<RudpConnection> {
    return new Promise((resolve, reject) => {
      this.live++;
      const handle = this.runtime.connect({ family, host, port });
      this.pending.set(handle, { host, port, resolve, reject });
    });
  }

  private settle(handle: number, connection: RudpConnection | null, failure: { reason: string; message: string } | null): void {
    const waiting = this.pending.get(handle);
    this.pending.delete(handle);
    if (connection) return waiting?.resolve(connection);
    this.release();
    if (!waiting || !failure) return;
    const code = failure.reason === "handshake-timeout" ? "ERR_HANDSHAKE_TIMEOUT" : "ERR_CONNECT_FAILED";
    const text = failure.message || describeCloseReason(failure.reason);
    waiting.reject(new RudpError(code, `cannot connect to ${waiting.host}:${waiting.port}: ${text}`, failure.reason));
  }

  private release(): void {
    if (--this.live > 0) return;
    if (endpoints.get(this.key) === this) endpoints.delete(this.key);
    void this.runtime.stop();
  }
}

const endpoints = new Map<string, ClientEndpoint>();
const opening = new Map<string, Promise<ClientEndpoint>>();

async function resolveHost(host: string): Promise<{ host: string; family: 4 | 6 }> {
  if (host === "localhost") return { host: "127.0.0.1", family: 4 };
  if (isIPv6(host)) return { host, family: 6 };
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return { host, family: 4 };
  const [first] = await Bun.dns.lookup(host).catch(() => []);
  if (!first) throw new RudpError("ERR_CONNECT_FAILED", `cannot resolve host "${host}": check the name`);
  return { host: first.address, family: first.family === 6 ? 6 : 4 };
}

async function endpointFor(family: 4 | 6, options: ConnectOptions): Promise<ClientEndpoint> {
  const key = options.exclusiveSocket ? `exclusive-${exclusiveEndpoints++}` : `${family}|${JSON.stringify(options)}`;
  const existing = endpoints.get(key);
  if (existing) return existing;
  let promise = opening.get(key);
  if (!promise) {
    promise = ClientEndpoint.open(key, family, options);
    opening.set(key, promise);
  }
  try {
    const endpoint = await promise;
    endpoints.set(key, endpoint);
    return endpoint;
  } finally {
    opening.delete(key);
  }
}

/**
 * Connects to an RUDP server. Resolves once the handshake completes; rejects with a
 * RudpError whose `reason` says why it could not (handshake timeout, server full, ...).
 * Reconnecting is the application's choice: call `connect` again.
 */
export async function connect(host: string, port: number, options: ConnectOptions = {}): Promise<RudpConnection> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RudpError("ERR_INVALID_OPTION", `port must be an integer from 1 to 65535, got ${port}`);
  }
  const target = await resolveHost(host);
  const endpoint = await endpointFor(target.family, options);
  return endpoint.connect(target.host, target.family, port);
}
