// `bun run server`: the bun-rudp server with the example application (echo + broadcast room).
// Usage errors: one line on stderr, exit code 2. Start-up failures: one line, exit code 1.
import { RudpError } from "../errors.ts";
import { serveMetrics } from "../metrics/httpServer.ts";
import { createMetrics, type RudpMetrics } from "../metrics/index.ts";
import { createLogger, type Logger } from "../runtime/logger.ts";
import { parseServerConfig, UsageError, USAGE, type ServerCliConfig } from "./config.ts";
import { installExampleApp } from "./exampleApp.ts";
import { RudpServer } from "./server.ts";
import { runPrimary } from "./workers.ts";

const SHUTDOWN_TIMEOUT_MS = 3000;

function fail(message: string, exitCode: number): never {
  console.error(`bun-rudp server: ${message}${exitCode === 2 ? " (see --help)" : ""}`);
  process.exit(exitCode);
}

async function main(): Promise<void> {
  let config: ServerCliConfig | null;
  try {
    config = parseServerConfig(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) fail(error.message, 2);
    throw error;
  }
  if (config === null) {
    console.log(USAGE);
    return;
  }
  const logger = createLogger(config.logLevel, config.workerIndex !== undefined ? { worker: config.workerIndex } : {});
  if (config.workers > 1 && config.workerIndex === undefined) return runPrimary(config, logger);
  await runServerProcess(config, logger);
}

/** One server process: the whole server with --workers 1, or one worker of several. */
async function runServerProcess(config: ServerCliConfig, logger: Logger): Promise<void> {
  const isWorker = config.workerIndex !== undefined;
  const server = new RudpServer({
    host: config.host,
    port: config.port,
    driver: config.driver,
    maxConnections: config.maxConnections,
    maxMemoryBytes: config.maxMemoryBytes,
    mtuBytes: config.mtuBytes,
    congestionControl: config.congestionControl,
    numaNode: config.numaNode,
    receiveThreadCpu: config.receiveThreadCpu,
    reusePort: isWorker,
  });
  const app = installExampleApp(server);
  try {
    await server.listen();
  } catch (error) {
    if (error instanceof RudpError) fail(error.message, 1);
    throw error;
  }
  // The same bun-rudp/metrics an application mounts on its own Bun.serve.
  const serverMetrics = createMetrics(server, { workers: config.workers, dashboardAtRoot: true, historySeconds: isWorker ? 0 : 300 });
  const metrics = config.metricsPort === 0 && !isWorker
    ? null
    : startMetricsServerOrFail(config, serverMetrics, isWorker);
  server.on("connection", (connection) => logger.debug({ connection: connection.id, remote: connection.remote }, "connection opened"));
  server.on("disconnect", (connection) => logger.debug({ connection: connection.id, reason: connection.closeInfo?.reason }, "connection closed"));

  const { host, port } = server.address;
  const { driverKind: driver, checksumKernel, numaNode } = server.endpoint!.sample;
  const metricsUrl = metrics ? `http://${metrics.hostname}:${metrics.port}` : "off";
  logger.info(
    { udp: { host, port }, driver, checksumKernel, metrics: metricsUrl, numaNode },
    `listening on udp://${host}:${port} (driver ${driver}, checksum ${checksumKernel}); ` +
      (metrics ? `metrics ${metricsUrl}/metrics, stats ${metricsUrl}/stats, dashboard ${metricsUrl}/` : "metrics off (--metrics-port 0)"),
  );
  if (isWorker) process.send?.({ type: "ready", metricsPort: metrics!.port, port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, connections: server.connections.size }, "shutting down: closing connections with reason server-shutdown");
    const forced = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS + 1000);
    await server.close(SHUTDOWN_TIMEOUT_MS);
    serverMetrics.stop();
    metrics?.stop(true);
    clearTimeout(forced);
    logger.info({ roomMessagesDropped: app.roomMessagesDropped, echoRepliesDropped: app.echoRepliesDropped }, "stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

function startMetricsServerOrFail(config: ServerCliConfig, metrics: RudpMetrics, isWorker: boolean) {
  try {
    return serveMetrics({
      host: config.metricsHost,
      // Workers serve an internal port the primary aggregates; only the primary uses --metrics-port.
      port: isWorker ? 0 : config.metricsPort,
      handle: metrics.handle,
      workerReport: isWorker ? () => metrics.workerReport() : undefined,
    });
  } catch (error) {
    fail(`cannot serve metrics on ${config.metricsHost}:${config.metricsPort}: ${(error as Error).message}; choose another --metrics-port (0 turns metrics off)`, 1);
  }
}

await main();
