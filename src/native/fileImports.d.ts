// `import path from "./x.so" with { type: "file" }` gives the file's path (Bun): on disk
// when run from node_modules, inside the executable (/$bunfs/...) after `bun build --compile`.
declare module "*.so" {
  const path: string;
  export default path;
}
