import { isIPv6 } from "node:net";
import { createEngine } from "../protocol/index.ts";
import type { RudpConnection } from "../runtime/connection.ts";
import { EndpointRuntime } from "../runtime/endpointRuntime.ts";
import { engineDependencies } from "../runtime/engineDependencies.ts";
import { describeCloseReason, RudpError } from "../runtime/errors.ts";
import { engineConfigFrom, type EndpointOptions } from "../runtime/options.ts";
import { openDriver } from "../transport/openDriver.ts";

export interface ConnectOptions extends EndpointOptions {
  /** Local address to bind; defaults to the wildcard of the server's family on an ephemeral port. */
  localHost?: string;
}

const STAGING_SLOTS = 128;

async function resolveHost(host: string): Promise<{ host: string; family: 4 | 6 }> {
  if (host === "localhost") return { host: "127.0.0.1", family: 4 };
  if (isIPv6(host)) return { host, family: 6 };
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return { host, family: 4 };
  const [first] = await Bun.dns.lookup(host);
  if (!first) throw new RudpError("ERR_CONNECT_FAILED", `cannot resolve host ${host}`);
  return { host: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * Connects to an RUDP server. Resolves once the handshake completes; rejects with a
 * RudpError whose `reason` says why it could not (handshake timeout, server full, ...).
 * Each client connection owns its socket; closing the connection releases it.
 * Reconnecting is the application's choice: call `connect` again.
 */
export async function connect(host: string, port: number, options: ConnectOptions = {}): Promise<RudpConnection> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RudpError("ERR_INVALID_OPTION", `port must be an integer from 1 to 65535, got ${port}`);
  }
  const target = await resolveHost(host);
  const config = engineConfigFrom(options, "client");
  const driver = await openDriver(options.driver ?? "auto", {
    host: options.localHost ?? (target.family === 6 ? "::" : "0.0.0.0"),
    port: 0,
    slotBytes: Math.max(config.mtuBytes ?? 1200, 1200),
    stagingSlots: STAGING_SLOTS,
    reusePort: false,
    receiveThreadCpu: options.receiveThreadCpu,
    numaNode: options.numaNode,
  });
  const engine = createEngine(config, engineDependencies());
  return new Promise<RudpConnection>((resolve, reject) => {
    let settled = false;
    const runtime = new EndpointRuntime(engine, driver, {
      onConnected: (connection) => {
        settled = true;
        resolve(connection);
      },
      // The socket belongs to this one connection: release it when the connection ends.
      onClosed: () => void runtime.stop(),
    });
    runtime.onUnknownClosed = (_handle, reason, message) => {
      void runtime.stop();
      if (settled) return;
      settled = true;
      const code = reason === "handshake-timeout" ? "ERR_HANDSHAKE_TIMEOUT" : "ERR_CONNECT_FAILED";
      reject(new RudpError(code, `cannot connect to ${host}:${port}: ${message || describeCloseReason(reason)}`, reason));
    };
    runtime.connect({ family: target.family, host: target.host, port });
  });
}
