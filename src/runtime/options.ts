import type { CongestionControlName, DeliveryMode, EngineConfig } from "../protocol/api.ts";
import { RudpError } from "../errors.ts";

/** Options shared by servers and clients. Times are milliseconds here, microseconds inside. */
export interface RudpOptions {
  /** "auto" picks native when the library loads, else fallback (and says so once). */
  driver?: "auto" | "native" | "fallback";
  mtuBytes?: number;
  congestionControl?: CongestionControlName;
  channelModes?: Partial<Record<number, DeliveryMode>>;
  maxMessageBytes?: number;
  sendBufferBytesPerConnection?: number;
  reassemblyBytesPerConnection?: number;
  reassemblyBytesTotal?: number;
  idleTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  handshakeTimeoutMs?: number;
  /** Data waiting this long while the peer acknowledges none of it closes as "stalled" (default 30 000). */
  progressTimeoutMs?: number;
  /** Bytes this endpoint may hold for its peers in all (send queues, reassembly, undelivered
   *  messages, what connections report with holdBytes). Over it send() returns false; over it
   *  for maxMemoryGraceMs the biggest holders close as "memory-budget". Server default 1 GiB. */
  maxMemoryBytes?: number;
  maxMemoryGraceMs?: number;
  /** Native driver: CPU for the receive thread. */
  receiveThreadCpu?: number;
  /** Native driver: NUMA node for the buffer pools (-1: local). */
  numaNode?: number;
  /** Server: connections accepted at once. Client: connections one shared endpoint (socket) holds. */
  maxConnections?: number;
}

export interface ServerOptions extends RudpOptions {
  host?: string;
  port?: number;
  cookieLifetimeMs?: number;
  /** Share the port with other processes (SO_REUSEPORT; native driver only). */
  reusePort?: boolean;
}

export const MTU_BYTES_MIN = 1200;
export const CLIENT_CONNECTIONS_PER_ENDPOINT_MAX = 65_536;
export const MTU_BYTES_MAX = 65_000;

function positive(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RudpError("ERR_INVALID_OPTION", `${name} must be a positive number, got ${value}`);
  }
  return value;
}

/** Turns user options into the engine's config; only what the user set is passed on. */
export function engineConfigFrom(options: ServerOptions, role: "server" | "client"): Partial<EngineConfig> {
  const config: Partial<EngineConfig> = { role };
  if (options.mtuBytes !== undefined) {
    if (!Number.isInteger(options.mtuBytes) || options.mtuBytes < MTU_BYTES_MIN || options.mtuBytes > MTU_BYTES_MAX) {
      throw new RudpError("ERR_INVALID_OPTION", `mtuBytes must be an integer from ${MTU_BYTES_MIN} to ${MTU_BYTES_MAX}, got ${options.mtuBytes}`);
    }
    config.mtuBytes = options.mtuBytes;
  }
  const set = <K extends keyof EngineConfig>(key: K, value: EngineConfig[K] | undefined) => {
    if (value !== undefined) config[key] = value;
  };
  const us = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1000);
  set("maxConnections", positive("maxConnections", options.maxConnections));
  // Client connections share an endpoint (src/client/client.ts): its limit is the process's.
  if (role === "client" && options.maxConnections === undefined) config.maxConnections = CLIENT_CONNECTIONS_PER_ENDPOINT_MAX;
  set("maxMessageBytes", positive("maxMessageBytes", options.maxMessageBytes));
  set("sendBufferBytesPerConnection", positive("sendBufferBytesPerConnection", options.sendBufferBytesPerConnection));
  set("reassemblyBytesPerConnection", positive("reassemblyBytesPerConnection", options.reassemblyBytesPerConnection));
  set("reassemblyBytesTotal", positive("reassemblyBytesTotal", options.reassemblyBytesTotal));
  set("idleTimeoutUs", us(positive("idleTimeoutMs", options.idleTimeoutMs)));
  set("keepaliveIntervalUs", us(positive("keepaliveIntervalMs", options.keepaliveIntervalMs)));
  set("handshakeTimeoutUs", us(positive("handshakeTimeoutMs", options.handshakeTimeoutMs)));
  set("progressTimeoutUs", us(positive("progressTimeoutMs", options.progressTimeoutMs)));
  set("memoryBudgetBytes", positive("maxMemoryBytes", options.maxMemoryBytes));
  set("memoryBudgetGraceUs", us(positive("maxMemoryGraceMs", options.maxMemoryGraceMs)));
  set("cookieLifetimeUs", us(positive("cookieLifetimeMs", options.cookieLifetimeMs)));
  set("congestionControl", options.congestionControl);
  if (options.channelModes) config.channelModes = options.channelModes;
  if (role === "server") config.cookieSecret = crypto.getRandomValues(new Uint8Array(32));
  return config;
}
