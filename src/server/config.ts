import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { CongestionControlName } from "../protocol/api.ts";
import { DEFAULT_PORT } from "./server.ts";

/** Everything `bun run server` can be told, after flags, environment and config file merge. */
export interface ServerCliConfig {
  host: string;
  port: number;
  workers: number;
  maxConnections: number;
  /** Memory budget per worker for what peers make it hold (engine memoryBudgetBytes). */
  maxMemoryBytes: number;
  mtuBytes: number;
  congestionControl: CongestionControlName;
  metricsHost: string;
  metricsPort: number;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  driver: "auto" | "native" | "fallback";
  numaNode: number;
  receiveThreadCpu: number | undefined;
  /** Internal: set by the primary on the worker processes it starts. */
  workerIndex: number | undefined;
}

export const USAGE = `Usage: bun run server [options]

Starts a bun-rudp server with the example application: echo on every channel, and a
broadcast room on channel 1 (each message there goes to every connected client).

Options (each also from an environment variable, or a JSON config file via --config):
  --host <address>          UDP address to listen on            RUDP_HOST          (127.0.0.1)
  --port <n>                UDP port                            RUDP_PORT          (${DEFAULT_PORT})
  --workers <n>             processes sharing the port          RUDP_WORKERS       (1)
                            (SO_REUSEPORT; needs the native driver)
  --max-connections <n>     connection limit per worker         RUDP_MAX_CONNECTIONS (10000)
  --max-memory <size>       bytes held for peers per worker     RUDP_MAX_MEMORY    (1G)
                            (e.g. 512M, 2G; then send() backpressure, then closes)
  --mtu <bytes>             largest UDP payload, 1200..65000    RUDP_MTU           (1200)
  --cc <name>               newreno | cubic | adaptive | bbr    RUDP_CC            (cubic)
  --metrics-host <address>  metrics HTTP address                RUDP_METRICS_HOST  (127.0.0.1)
  --metrics-port <n>        metrics HTTP port, 0 = off          RUDP_METRICS_PORT  (9100)
  --log-level <level>       trace|debug|info|warn|error|silent  RUDP_LOG_LEVEL     (info)
  --driver <name>           auto | native | fallback            RUDP_DRIVER        (auto)
  --numa-node <n>           bind receive/send buffers to a node RUDP_NUMA_NODE    (-1: none)
  --rx-cpu <n>              CPU for the receive thread          RUDP_RX_CPU        (none)
  --config <file>           JSON file with any of the options above (camelCase keys)
  -h, --help                show this help

Metrics: GET /metrics (Prometheus), GET /stats (JSON), GET / (dashboard) on the metrics port.
Stops cleanly on SIGINT or SIGTERM.`;

/** A usage error: the CLI prints `message` on one line and exits with code 2. */
export class UsageError extends Error {}

const DEFAULTS: ServerCliConfig = {
  host: "127.0.0.1",
  port: DEFAULT_PORT,
  workers: 1,
  maxConnections: 10_000,
  maxMemoryBytes: 1024 ** 3,
  mtuBytes: 1200,
  congestionControl: "cubic",
  metricsHost: "127.0.0.1",
  metricsPort: 9100,
  logLevel: "info",
  driver: "auto",
  numaNode: -1,
  receiveThreadCpu: undefined,
  workerIndex: undefined,
};

const FLAGS = {
  host: { type: "string", env: "RUDP_HOST", key: "host" },
  port: { type: "string", env: "RUDP_PORT", key: "port" },
  workers: { type: "string", env: "RUDP_WORKERS", key: "workers" },
  "max-connections": { type: "string", env: "RUDP_MAX_CONNECTIONS", key: "maxConnections" },
  "max-memory": { type: "string", env: "RUDP_MAX_MEMORY", key: "maxMemoryBytes" },
  mtu: { type: "string", env: "RUDP_MTU", key: "mtuBytes" },
  cc: { type: "string", env: "RUDP_CC", key: "congestionControl" },
  "metrics-host": { type: "string", env: "RUDP_METRICS_HOST", key: "metricsHost" },
  "metrics-port": { type: "string", env: "RUDP_METRICS_PORT", key: "metricsPort" },
  "log-level": { type: "string", env: "RUDP_LOG_LEVEL", key: "logLevel" },
  driver: { type: "string", env: "RUDP_DRIVER", key: "driver" },
  "numa-node": { type: "string", env: "RUDP_NUMA_NODE", key: "numaNode" },
  "rx-cpu": { type: "string", env: "RUDP_RX_CPU", key: "receiveThreadCpu" },
  "worker-index": { type: "string", env: "", key: "workerIndex" },
} as const satisfies Record<string, { type: "string"; env: string; key: keyof ServerCliConfig }>;

type Raw = Partial<Record<keyof ServerCliConfig, unknown>>;

/** Parses argv (after the script name); returns null when --help was asked for. */
export function parseServerConfig(argv: string[], env: Record<string, string | undefined> = process.env): ServerCliConfig | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...FLAGS, config: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]}`);
  }
  if (parsed.values.help) return null;
  const raw: Raw = parsed.values.config ? readConfigFile(parsed.values.config) : {};
  for (const [flag, spec] of Object.entries(FLAGS)) {
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== "") raw[spec.key] = fromEnv;
    const fromFlag = (parsed.values as Record<string, unknown>)[flag];
    if (fromFlag !== undefined) raw[spec.key] = fromFlag;
  }
  return validate(raw);
}

function readConfigFile(path: string): Raw {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`cannot read config file ${path}: check the path`);
  }
  try {
    const value = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    const known = new Set(Object.values(FLAGS).map((spec) => spec.key as string));
    for (const key of Object.keys(value)) {
      if (!known.has(key)) throw new UsageError(`config file ${path}: unknown option "${key}" (expected one of ${[...known].join(", ")})`);
    }
    return value as Raw;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`config file ${path} is not a JSON object of options: ${(error as Error).message}`);
  }
}

function integer(name: string, value: unknown, min: number, max: number): number {
  const number = typeof value === "number" ? value : Number(String(value).trim());
  if (String(value).trim() === "" || !Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got "${value}")`);
  }
  return number;
}

const SIZE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Bytes, or a number with K, M or G (binary units): "512M", "2G". */
function size(name: string, value: unknown, min: number): number {
  const match = /^(\d+)\s*([KMG]?)i?B?$/i.exec(String(value).trim());
  const bytes = match ? Number(match[1]) * SIZE_UNITS[match[2]!.toUpperCase()]! : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < min) {
    throw new UsageError(`--${name} must be a size of at least ${min} bytes, like 512M or 2G (got "${value}")`);
  }
  return bytes;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")} (got "${value}")`);
  return value as T;
}

function validate(raw: Raw): ServerCliConfig {
  const config = { ...DEFAULTS };
  if (raw.host !== undefined) config.host = String(raw.host);
  if (raw.port !== undefined) config.port = integer("port", raw.port, 0, 65_535);
  if (raw.workers !== undefined) config.workers = integer("workers", raw.workers, 1, 64);
  if (raw.maxConnections !== undefined) config.maxConnections = integer("max-connections", raw.maxConnections, 1, 1_000_000);
  if (raw.maxMemoryBytes !== undefined) config.maxMemoryBytes = size("max-memory", raw.maxMemoryBytes, 1024 ** 2);
  if (raw.mtuBytes !== undefined) config.mtuBytes = integer("mtu", raw.mtuBytes, 1200, 65_000);
  if (raw.congestionControl !== undefined) config.congestionControl = oneOf("cc", raw.congestionControl, ["newreno", "cubic", "adaptive", "bbr"] as const);
  if (raw.metricsHost !== undefined) config.metricsHost = String(raw.metricsHost);
  if (raw.metricsPort !== undefined) config.metricsPort = integer("metrics-port", raw.metricsPort, 0, 65_535);
  if (raw.logLevel !== undefined) config.logLevel = oneOf("log-level", raw.logLevel, ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const);
  if (raw.driver !== undefined) config.driver = oneOf("driver", raw.driver, ["auto", "native", "fallback"] as const);
  if (raw.numaNode !== undefined) config.numaNode = integer("numa-node", raw.numaNode, -1, 63);
  if (raw.receiveThreadCpu !== undefined) config.receiveThreadCpu = integer("rx-cpu", raw.receiveThreadCpu, 0, 4095);
  if (raw.workerIndex !== undefined) config.workerIndex = integer("worker-index", raw.workerIndex, 0, 63);
  if (config.workers > 1 && config.driver === "fallback") {
    throw new UsageError("--workers > 1 needs the native driver (SO_REUSEPORT): drop --driver fallback or use --workers 1");
  }
  return config;
}
