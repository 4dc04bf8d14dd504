import { createEngine } from "../protocol/index.ts";
import { openDriver } from "../transport/openDriver.ts";
import { nowUs } from "./clock.ts";
import { EndpointRuntime, type RuntimeHooks } from "./endpointRuntime.ts";
import { checksumKernel, engineDependencies } from "./engineDependencies.ts";
import { engineConfigFrom, type ServerOptions } from "./options.ts";

/** Datagrams staged before a flush is forced. */
const STAGING_SLOTS = 256;

/** The local socket an endpoint binds. */
export interface EndpointBinding {
  host: string;
  port: number;
  /** Share the port with other processes (SO_REUSEPORT; native driver only). */
  reusePort: boolean;
}

/**
 * The one place an endpoint (one UDP socket with its engine, driver, clock and timer) is put
 * together, for servers and clients alike: the options become the engine's config, the
 * driver binds the socket, the engine gets its production dependencies, the runtime its
 * clock. Throws RudpError for a bad option or a socket that cannot be bound.
 */
export async function openEndpoint(role: "server" | "client", options: ServerOptions, binding: EndpointBinding, hooks: RuntimeHooks): Promise<EndpointRuntime> {
  const config = engineConfigFrom(options, role);
  const driver = await openDriver(options.driver ?? "auto", {
    ...binding,
    slotBytes: Math.max(config.mtuBytes ?? 1200, 1200),
    stagingSlots: STAGING_SLOTS,
    receiveThreadCpu: options.receiveThreadCpu,
    numaNode: options.numaNode,
  });
  // The native receive thread has verified every CRC32C already (and dropped failures).
  const engine = createEngine({ ...config, verifyChecksum: driver.kind !== "native" }, engineDependencies());
  return new EndpointRuntime(engine, driver, hooks, { nowUs, checksumKernel });
}
