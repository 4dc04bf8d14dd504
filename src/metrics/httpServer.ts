import type { WorkerReport } from "./aggregate.ts";
import { createMetricsHandler, type MetricsHandlerOptions, type MetricsRequestHandler } from "./handler.ts";

export interface MetricsServer {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

export interface ServeMetricsOptions {
  host: string;
  port: number;
  /** The bun-rudp/metrics handler. */
  handle: MetricsRequestHandler;
  /** Called on stop (the handler's own stop). */
  onStop?: () => void;
  /** Internal: this worker's snapshot and histograms, for the primary's aggregate. */
  workerReport?: () => WorkerReport;
}

/**
 * The example CLI's metrics HTTP server, on its own port: the bun-rudp/metrics handler (the
 * same one an app mounts), plus the internal worker-report route the primary aggregates.
 */
export function serveMetrics(options: ServeMetricsOptions): MetricsServer {
  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    fetch(request) {
      if (new URL(request.url).pathname === "/internal/worker-report") {
        if (!options.workerReport) return new Response("not a worker\n", { status: 404 });
        return Response.json(options.workerReport());
      }
      return options.handle(request) ?? new Response("not found: try /metrics, /stats or /dashboard\n", { status: 404 });
    },
  });
  return {
    hostname: server.hostname ?? options.host,
    port: server.port ?? options.port,
    stop(closeActiveConnections) {
      options.onStop?.();
      void server.stop(closeActiveConnections);
    },
  };
}

/** A metrics server over any snapshot source (the --workers primary's aggregate, test stand-ins). */
export function startMetricsServer(options: MetricsHandlerOptions & { host: string; port: number }): MetricsServer {
  const metrics = createMetricsHandler({ dashboardAtRoot: true, ...options });
  return serveMetrics({ host: options.host, port: options.port, handle: metrics.handle, onStop: metrics.stop });
}
