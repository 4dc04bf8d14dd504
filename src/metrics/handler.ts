import type { Registry } from "prom-client";
import { dashboardAssets } from "./dashboardAssets.ts";
import { createPrometheusRegistry, type PrometheusRegistryOptions } from "./prometheus.ts";
import { StatsHistory } from "./statsHistory.ts";
import type { StatsSnapshot } from "./statsSchema.ts";

export interface MetricsHandlerOptions extends PrometheusRegistryOptions {
  /** The latest stats (this process's, or the aggregate over workers). */
  snapshot: () => Promise<StatsSnapshot> | StatsSnapshot;
  /** Path prefix for every route, e.g. "/rudp" -> /rudp/metrics. Default "" (no prefix). */
  basePath?: string;
  /** Also serve the dashboard at `<basePath>/` (the example CLI does). Default false. */
  dashboardAtRoot?: boolean;
  /** Seconds of history (one snapshot a second) a dashboard starts with. Default 300; 0 = none. */
  historySeconds?: number;
}

/** Fetch-style: a Response for the routes it serves, undefined for every other request. */
export type MetricsRequestHandler = (request: Request) => Response | Promise<Response> | undefined;

export interface MetricsHandler {
  readonly handle: MetricsRequestHandler;
  readonly registry: Registry;
  readonly history: StatsHistory;
  /** Stops the once-a-second history sampling. */
  stop(): void;
}

const HISTORY_INTERVAL_MS = 1000;
const ROUTES = "/metrics (Prometheus), /stats (JSON), /stats/history (JSON array), /dashboard";

/**
 * The metrics routes any app can mount on its own Bun.serve:
 *   GET <base>/metrics         Prometheus text (rudp_* plus prom-client's default metrics)
 *   GET <base>/stats           the latest StatsSnapshot as JSON
 *   GET <base>/stats/history   the last snapshots, oldest first (what a dashboard starts with)
 *   GET <base>/dashboard       the live dashboard page and its assets
 */
export function createMetricsHandler(options: MetricsHandlerOptions): MetricsHandler {
  const base = normalizeBasePath(options.basePath ?? "");
  let latest: StatsSnapshot | null = null;
  const registry = createPrometheusRegistry(() => latest!, options);
  const history = new StatsHistory(options.historySeconds ?? 300);
  const sampler = setInterval(() => {
    Promise.resolve()
      .then(options.snapshot)
      .then((snapshot) => history.push(snapshot), () => history.samplesFailed++);
  }, HISTORY_INTERVAL_MS);
  sampler.unref();

  const metrics = async (): Promise<Response> => {
    latest = await options.snapshot();
    return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
  };
  const handle: MetricsRequestHandler = (request) => {
    const { pathname } = new URL(request.url);
    const route = routeOf(pathname, base, options.dashboardAtRoot ?? false);
    if (route === null) return undefined;
    if (request.method !== "GET" && request.method !== "HEAD") return new Response(`only GET is served at ${pathname}\n`, { status: 405 });
    switch (route) {
      case "metrics":
        return metrics();
      case "stats":
        return Promise.resolve(options.snapshot()).then((snapshot) => Response.json(snapshot, { headers: { "cache-control": "no-store" } }));
      case "history":
        return Response.json(history.list(), { headers: { "cache-control": "no-store" } });
      default:
        return serveDashboardAsset(route, base);
    }
  };
  return { handle, registry, history, stop: () => clearInterval(sampler) };
}

function normalizeBasePath(basePath: string): string {
  if (basePath === "" || basePath === "/") return "";
  if (!basePath.startsWith("/")) throw new TypeError(`basePath must start with "/" (got "${basePath}"), e.g. "/rudp"`);
  return basePath.replace(/\/+$/, "");
}

/** "metrics" | "stats" | "history" | a dashboard asset name | null (not ours). */
function routeOf(pathname: string, base: string, dashboardAtRoot: boolean): string | null {
  if (!pathname.startsWith(base)) return null;
  const rest = pathname.slice(base.length);
  if (rest === "/metrics") return "metrics";
  if (rest === "/stats") return "stats";
  if (rest === "/stats/history") return "history";
  if (rest === "/dashboard" || rest === "/dashboard/" || (dashboardAtRoot && (rest === "/" || rest === ""))) return "index.html";
  if (rest.startsWith("/dashboard/")) return rest.slice("/dashboard/".length);
  return null;
}

async function serveDashboardAsset(name: string, base: string): Promise<Response> {
  const asset = dashboardAssets[name];
  if (!asset) return new Response(`no dashboard asset "${name}": the routes are ${ROUTES}\n`, { status: 404 });
  if (name !== "index.html") return new Response(Bun.file(asset.path), { headers: { "content-type": asset.contentType } });
  // The page's links are root-relative; prefix them with the mount point.
  const html = (await Bun.file(asset.path).text()).replace(/(href|src|content)="\/(dashboard|metrics|stats)/g, `$1="${base}/$2`);
  return new Response(html.replace('name="rudp-base" content=""', `name="rudp-base" content="${base}"`), {
    headers: { "content-type": asset.contentType },
  });
}
