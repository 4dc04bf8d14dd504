// `import path from "./x.so" with { type: "file" }` gives the file's path (Bun): on disk
// when run from node_modules, inside the executable (/$bunfs/...) after `bun build --compile`.
declare module "*.so" {
  const path: string;
  export default path;
}
// The dashboard's assets (src/metrics/dashboardAssets.ts), file-imported the same way.
declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*/dashboard.js" {
  const path: string;
  export default path;
}
declare module "uplot/dist/uPlot.iife.min.js" {
  const path: string;
  export default path;
}
