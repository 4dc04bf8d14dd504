// The dashboard's files as file imports: read from the package folder when run from
// node_modules, embedded in the executable after `bun build --compile` (like the prebuilt
// librudp). uPlot comes from the uplot package, a dependency of bun-rudp/metrics.
import indexHtml from "./dashboard/index.html" with { type: "file" };
import dashboardCss from "./dashboard/dashboard.css" with { type: "file" };
import dashboardJs from "./dashboard/dashboard.js" with { type: "file" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "file" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "file" };

/** Asset name under `<base>/dashboard/` -> file path and content type. */
export const dashboardAssets: Record<string, { path: string; contentType: string }> = {
  // @types/bun types an .html import as an HTMLBundle; with type "file" it is the path.
  "index.html": { path: indexHtml as unknown as string, contentType: "text/html; charset=utf-8" },
  "dashboard.css": { path: dashboardCss, contentType: "text/css; charset=utf-8" },
  "dashboard.js": { path: dashboardJs, contentType: "text/javascript; charset=utf-8" },
  "uPlot.min.css": { path: uplotCss, contentType: "text/css; charset=utf-8" },
  "uPlot.iife.min.js": { path: uplotJs, contentType: "text/javascript; charset=utf-8" },
};
