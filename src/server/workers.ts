import { startMetricsServer } from "../metrics/httpServer.ts";
import { aggregateReports, type WorkerReport } from "../metrics/aggregate.ts";
import { CpuMeter } from "../metrics/processUsage.ts";
import type { Logger } from "../runtime/logger.ts";
import type { ServerCliConfig } from "./config.ts";

const WORKER_READY_TIMEOUT_MS = 15_000;
const WORKER_EXIT_TIMEOUT_MS = 6000;

interface Worker {
  index: number;
  process: ReturnType<typeof Bun.spawn>;
  metricsPort: number | null;
}

/**
 * --workers N: N processes bind the same port with SO_REUSEPORT (the kernel keeps each
 * client's 4-tuple on one worker). This primary process starts them, serves the metrics
 * port with their aggregate, forwards SIGINT/SIGTERM and exits 0 once they have.
 */
export async function runPrimary(config: ServerCliConfig, logger: Logger): Promise<void> {
  const workers: Worker[] = [];
  let stopping = false;
  const ready = Promise.withResolvers<void>();
  for (let index = 0; index < config.workers; index++) {
    const worker: Worker = { index, metricsPort: null, process: null as never };
    worker.process = Bun.spawn([process.execPath, process.argv[1]!, ...process.argv.slice(2), "--worker-index", String(index)], {
      stdio: ["ignore", "inherit", "inherit"],
      ipc(message: { type?: string; metricsPort?: number }) {
        if (message.type !== "ready") return;
        worker.metricsPort = message.metricsPort ?? null;
        if (workers.every((w) => w.metricsPort !== null)) ready.resolve();
      },
    });
    void worker.process.exited.then((code) => {
      if (stopping) return;
      logger.error({ worker: index, exitCode: code }, "a worker exited; stopping the others");
      ready.reject(new Error(`worker ${index} exited with code ${code} during start-up`));
      void stopAll(1);
    });
    workers.push(worker);
  }
  const stopAll = async (exitCode: number) => {
    stopping = true;
    for (const worker of workers) worker.process.kill("SIGTERM");
    const timeout = new Promise((resolve) => setTimeout(resolve, WORKER_EXIT_TIMEOUT_MS));
    await Promise.race([Promise.all(workers.map((w) => w.process.exited)), timeout]);
    for (const worker of workers) worker.process.kill("SIGKILL");
    process.exit(exitCode);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  const readyTimer = setTimeout(() => ready.reject(new Error("workers did not start in time")), WORKER_READY_TIMEOUT_MS);
  try {
    await ready.promise;
  } catch (error) {
    console.error(`bun-rudp server: ${(error as Error).message}`);
    return stopAll(1);
  }
  clearTimeout(readyTimer);
  const cpu = new CpuMeter();
  const cpuTicker = setInterval(() => cpu.sample(), 1000);
  cpuTicker.unref();
  const snapshot = async () => {
    const reports = await Promise.all(
      workers.map(async (w) => (await fetch(`http://${config.metricsHost}:${w.metricsPort}/internal/worker-report`)).json() as Promise<WorkerReport>),
    );
    return aggregateReports(reports, { workers: config.workers, pid: process.pid, cpuPercent: cpu.lastPercent, rssBytes: process.memoryUsage().rss });
  };
  let metricsUrl = "off";
  if (config.metricsPort !== 0) {
    const server = startMetricsServer({ host: config.metricsHost, port: config.metricsPort, snapshot });
    metricsUrl = `http://${server.hostname}:${server.port}`;
  }
  logger.info({ workers: config.workers, udp: { host: config.host, port: config.port }, metrics: metricsUrl }, `${config.workers} workers share udp://${config.host}:${config.port}; aggregated metrics ${metricsUrl}/metrics`);
}
