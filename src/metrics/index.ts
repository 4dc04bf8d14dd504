// bun-rudp/metrics: metrics, stats and the live dashboard for a server an application runs.
// Separate from the package root so that `import "bun-rudp"` loads no prom-client, HDR
// histogram or uPlot; this entry loads all three.
//
//   const server = createServer({ port: 7700 });
//   const metrics = createMetrics(server);
//   await server.listen();
//   Bun.serve({ port: 9100, fetch: (request) => metrics.handle(request) ?? new Response("not found", { status: 404 }) });
import type { Registry } from "prom-client";
import type { EndpointRuntime } from "../runtime/endpointRuntime.ts";
import { MetricsCollector } from "./collector.ts";
import { createMetricsHandler, type MetricsHandler, type MetricsRequestHandler } from "./handler.ts";
import type { StatsSnapshot } from "./statsSchema.ts";
import type { WorkerReport } from "./aggregate.ts";

export { createMetricsHandler } from "./handler.ts";
export { RTT_MEANING } from "./prometheus.ts";
export type { MetricsHandler, MetricsHandlerOptions, MetricsRequestHandler } from "./handler.ts";
export type { DistributionSummary, DirectionRates, PoolClassStats, RttBuckets, StatsSnapshot } from "./statsSchema.ts";

/** What the metrics read of a server: an RudpServer from "bun-rudp" (metrics sit below the server layer). */
export interface MeasuredServer {
  readonly endpoint: EndpointRuntime | null;
  readonly address: { host: string; port: number };
  readonly options: { host?: string; port?: number };
  /** The metrics set this to receive every RTT sample. */
  onRttSample?: (rttUs: number) => void;
}

export interface MetricsOptions {
  /** Path prefix for the routes, e.g. "/rudp" -> /rudp/metrics, /rudp/stats, /rudp/dashboard. Default "". */
  basePath?: string;
  /** Also serve the dashboard at `<basePath>/`. Default false (the app keeps its own "/"). */
  dashboardAtRoot?: boolean;
  /** Seconds of history a newly opened dashboard starts with. Default 300; 0 = none. */
  historySeconds?: number;
  /** Add prom-client's default metrics (process_*, nodejs_eventloop_lag_*) to the registry. Default true. */
  defaultMetrics?: boolean;
  /** Register the rudp_* metrics in this prom-client registry (e.g. the app's own) instead of a new one. */
  registry?: Registry;
  /** Shown as `workers` in the stats. Default 1. */
  workers?: number;
}

/** A server's metrics: the prom-client registry, the latest snapshot and a fetch-style handler. */
export class RudpMetrics implements Disposable {
  /** GET <base>/metrics, /stats, /stats/history, /dashboard; undefined for anything else. */
  readonly handle: MetricsRequestHandler;
  readonly registry: Registry;
  private readonly collector: MetricsCollector;
  private readonly routes: MetricsHandler;

  constructor(readonly server: MeasuredServer, options: MetricsOptions = {}) {
    this.collector = new MetricsCollector({
      sample: () => server.endpoint?.sample ?? null,
      workers: options.workers ?? 1,
      listen: () => (server.endpoint ? server.address : { host: server.options.host ?? "127.0.0.1", port: server.options.port ?? 0 }),
    });
    server.onRttSample = this.collector.recordRtt;
    this.routes = createMetricsHandler({ ...options, snapshot: () => this.collector.snapshot() });
    this.handle = this.routes.handle;
    this.registry = this.routes.registry;
  }

  /** The figures /stats serves, measured now. */
  snapshot(): StatsSnapshot {
    return this.collector.snapshot();
  }

  /** Stops sampling and recording (the server keeps running). */
  stop(): void {
    this.routes.stop();
    this.collector.stop();
    if (this.server.onRttSample === this.collector.recordRtt) this.server.onRttSample = undefined;
  }

  /**
   * @internal For the example CLI's --workers: this process's snapshot with its histograms,
   * which the primary merges.
   */
  workerReport(): WorkerReport {
    return this.collector.workerReport();
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}

/** Measures `server` (before or after listen) and serves what it measured. */
export function createMetrics(server: MeasuredServer, options: MetricsOptions = {}): RudpMetrics {
  return new RudpMetrics(server, options);
}
