// The layer rules of src/, checked on every import (docs/ARCHITECTURE.md explains them).
//
// Layers, top to bottom; an arrow may only point down:
//
//   src/index.ts            the package root: re-exports the public API (and, from
//                           src/native/index.ts, nativeStatus: which library was loaded)
//   src/server, src/client  public API (createServer, connect) and the server CLI
//   src/metrics             counters, histograms, /metrics, /stats: reads the runtime's
//                           EndpointSample, never the engine or a driver
//   src/runtime             assembles an endpoint (engine + driver + clock + timer), the
//                           connection handle applications hold, options
//   src/transport           drivers that move datagrams (native, fallback)
//   src/native              bun:ffi bindings to zig/
//   src/protocol            the sans-IO engine: imports nothing outside itself
//   src/errors.ts           RudpError: a leaf every layer may import
//
// And:
// - src/protocol is entered only through its public face, api.ts or index.ts;
// - src/native is entered only through index.ts;
// - no import circle anywhere in src/ (type-only imports count: a circle of types is a
//   circle a reader has to hold in their head);
// - nothing in src/ imports tests, benchmarks or tools.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const root = resolve(import.meta.dir, "../..");
const src = join(root, "src");

type Layer = "index" | "server" | "client" | "metrics" | "runtime" | "transport" | "native" | "protocol" | "errors";

/** What each layer may import besides itself. */
const allowed: Record<Layer, readonly Layer[]> = {
  index: ["server", "client", "runtime", "native", "protocol", "errors"],
  server: ["runtime", "metrics", "protocol", "errors"],
  client: ["runtime", "protocol", "errors"],
  metrics: ["runtime", "errors"],
  runtime: ["transport", "native", "protocol", "errors"],
  transport: ["native", "protocol", "errors"],
  native: [],
  protocol: [],
  errors: [],
};

/** The only files of a layer that other layers may import. */
const publicFaces: Partial<Record<Layer, readonly string[]>> = {
  protocol: ["src/protocol/api.ts", "src/protocol/index.ts"],
  native: ["src/native/index.ts"],
};

function layerOf(file: string): Layer | null {
  const path = relative(root, file);
  if (path === "src/index.ts") return "index";
  if (path === "src/errors.ts") return "errors";
  const match = /^src\/([^/]+)\//.exec(path);
  if (!match) return null;
  const folder = match[1] as Layer;
  return folder in allowed ? folder : null;
}

function sourceFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

/** Relative imports of a file (static, re-exports, `import type` and dynamic `import()`),
 *  resolved to absolute paths. Packages ("pino", "bun:ffi") are not layers. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return info.importedFiles.map((imported) => imported.fileName).filter((name) => name.startsWith(".")).map((name) => resolve(dirname(file), name));
}

const files = sourceFiles(src);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

/** Every import circle, each as the list of files around it (Tarjan's strongly connected
 *  components: a component of more than one file, or a file importing itself, is a circle). */
function circles(): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter);
    counter++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(relative(root, member));
    } while (member !== file);
    if (component.length > 1 || graph.get(file)!.includes(file)) found.push(component.sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return found;
}

function forbiddenEdges(): string[] {
  const broken: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    const fromPath = relative(root, file);
    for (const target of targets) {
      const toPath = relative(root, target);
      // The npm package's prebuilt libraries: file imports (a path), not code.
      if (fromPath === "src/native/prebuiltLibraries.ts" && /^prebuilds\/[^/]+\/librudp\.so$/.test(toPath)) continue;
      if (!toPath.startsWith("src/")) {
        broken.push(`${fromPath} -> ${toPath}: src/ must not import tests, benchmarks or tools`);
        continue;
      }
      const to = layerOf(target);
      if (from === null || to === null) {
        broken.push(`${fromPath} -> ${toPath}: file outside the known layers (add its folder to this test)`);
        continue;
      }
      if (from === to) continue;
      if (!allowed[from].includes(to)) {
        broken.push(`${fromPath} -> ${toPath}: ${from} may import only ${allowed[from].join(", ") || "itself"}`);
        continue;
      }
      const faces = publicFaces[to];
      if (faces && !faces.includes(toPath)) broken.push(`${fromPath} -> ${toPath}: enter ${to} through ${faces.join(" or ")}`);
    }
  }
  return broken;
}

describe("the layers of src/", () => {
  test("the import parser sees every kind of import", () => {
    // A check of the checker: if it saw nothing, every rule below would pass vacuously.
    const server = graph.get(join(src, "server/server.ts"))!;
    expect(server.length).toBeGreaterThan(2);
    const openDriver = graph.get(join(src, "transport/openDriver.ts"))!;
    expect(openDriver).toContain(join(src, "transport/nativeDriver.ts")); // a dynamic import()
    const typesOnly = ts.preProcessFile(`import type { A } from "./a.ts"; export * from "./b.ts"; void import("./c.ts");`, true, true);
    expect(typesOnly.importedFiles.map((file) => file.fileName)).toEqual(["./a.ts", "./b.ts", "./c.ts"]);
  });

  test("no import circle", () => {
    expect(circles()).toEqual([]);
  });

  test("every import points down a layer, through the layer's public face", () => {
    expect(forbiddenEdges()).toEqual([]);
  });

  test("the checks catch a circle and a forbidden edge", () => {
    // Build a broken graph and make sure both checks would see it.
    const a = join(src, "transport/fakeA.ts");
    const b = join(src, "transport/fakeB.ts");
    const upward = join(src, "protocol/fakeC.ts");
    graph.set(a, [b]);
    graph.set(b, [a]);
    graph.set(upward, [join(src, "runtime/endpointRuntime.ts")]);
    files.push(a, b, upward);
    try {
      expect(circles()).toContainEqual(["src/transport/fakeA.ts", "src/transport/fakeB.ts"]);
      expect(forbiddenEdges().some((line) => line.startsWith("src/protocol/fakeC.ts -> src/runtime/endpointRuntime.ts"))).toBe(true);
    } finally {
      graph.delete(a);
      graph.delete(b);
      graph.delete(upward);
      files.splice(files.length - 3, 3);
    }
  });
});
