import { existsSync } from "node:fs";
import { join } from "node:path";
import { createPrometheusRegistry } from "./prometheus.ts";
import type { StatsSnapshot } from "./statsSchema.ts";
import type { WorkerReport } from "./aggregate.ts";

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** The latest stats (this process's, or the aggregate over workers). */
  snapshot: () => Promise<StatsSnapshot> | StatsSnapshot;
  /** Internal: this worker's snapshot and histograms, for the primary's aggregate. */
  workerReport?: () => WorkerReport;
}

const dashboardFolder = join(import.meta.dir, "dashboard");

/**
 * The metrics HTTP server (Bun.serve, its own port): GET /metrics (Prometheus text),
 * GET /stats (JSON), GET / and /dashboard (the live dashboard page and its assets).
 */
export function startMetricsServer(options: MetricsServerOptions): ReturnType<typeof Bun.serve> {
  let latest: StatsSnapshot | null = null;
  const registry = createPrometheusRegistry(() => latest!);
  return Bun.serve({
    hostname: options.host,
    port: options.port,
    async fetch(request) {
      const { pathname } = new URL(request.url);
      if (request.method !== "GET") return new Response("only GET is served here\n", { status: 405 });
      switch (pathname) {
        case "/metrics":
          latest = await options.snapshot();
          return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
        case "/stats":
          return Response.json(await options.snapshot(), { headers: { "cache-control": "no-store" } });
        case "/internal/worker-report":
          if (!options.workerReport) return new Response("not a worker\n", { status: 404 });
          return Response.json(options.workerReport());
        case "/":
        case "/dashboard":
          return serveDashboardFile("index.html");
        default:
          if (pathname.startsWith("/dashboard/")) return serveDashboardFile(pathname.slice("/dashboard/".length));
          return new Response("not found: try /metrics, /stats or /dashboard\n", { status: 404 });
      }
    },
  });
}

function serveDashboardFile(name: string): Response {
  if (name.includes("..")) return new Response("bad path\n", { status: 400 });
  const path = name === "uPlot.iife.min.js" || name === "uPlot.min.css" ? uplotAsset(name) : join(dashboardFolder, name);
  if (!path || !existsSync(path)) return new Response("dashboard asset not found\n", { status: 404 });
  return new Response(Bun.file(path));
}

function uplotAsset(name: string): string | null {
  try {
    return join(require.resolve("uplot/package.json").replace(/package\.json$/, ""), "dist", name);
  } catch {
    return null;
  }
}
